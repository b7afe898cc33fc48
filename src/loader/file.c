/*
 * loader file: reads an image file whole and tells what kind it is.
 * Contracts in include/trapeze/loader.h.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trapeze/errmsg.h"
#include "trapeze/loader.h"

/* Reads exactly len bytes, retrying short reads and EINTR. 0, -EIO at early EOF, -errno. */
static int read_all(int fd, u8 *dst, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, dst + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* the file shrank after fstat() */
		done += (size_t)n;
	}
	return 0;
}

int loader_read_file(const char *path, u8 **buf, size_t *size, char *err,
		     size_t err_len)
{
	struct stat st;
	u8 *data;
	int fd, ret;

	*buf = NULL;
	*size = 0;

	/*
	 * O_NONBLOCK: opening a FIFO must not hang the VMM waiting for a
	 * writer; it is refused below as not a regular file anyway.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ENOTDIR)
			errmsg_set(err, err_len, "kernel '%s': %s", path, strerror(-ret));
		else
			errmsg_set(err, err_len, "kernel '%s' cannot be read: %s",
				path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		errmsg_set(err, err_len, "kernel '%s' cannot be read: %s", path,
			strerror(-ret));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		errmsg_set(err, err_len, "kernel '%s' is a directory", path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		errmsg_set(err, err_len, "kernel '%s' is not a regular file", path);
		goto out_close;
	}
	if (st.st_size == 0) {
		ret = -EINVAL;
		errmsg_set(err, err_len, "kernel '%s' is empty", path);
		goto out_close;
	}
	if ((u64)st.st_size > LOADER_MAX_IMAGE) {
		ret = -EFBIG;
		errmsg_set(err, err_len,
			"kernel '%s' is too large (%llu bytes, limit 4 GiB)", path,
			(unsigned long long)st.st_size);
		goto out_close;
	}

	data = malloc((size_t)st.st_size);
	if (!data) {
		ret = -ENOMEM;
		errmsg_set(err, err_len, "kernel '%s' (%llu bytes): out of memory",
			path, (unsigned long long)st.st_size);
		goto out_close;
	}
	ret = read_all(fd, data, (size_t)st.st_size);
	if (ret) {
		errmsg_set(err, err_len, "kernel '%s' cannot be read: %s", path,
			ret == -EIO ? "file shrank while being read" : strerror(-ret));
		goto out_free;
	}
	close(fd);
	*buf = data;
	*size = (size_t)st.st_size;
	return 0;

out_free:
	free(data);
out_close:
	close(fd);
	return ret;
}

enum image_kind loader_detect(const u8 *buf, size_t size)
{
	if (!buf || size < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return IMAGE_UNKNOWN;
	if (buf[EI_CLASS] == ELFCLASS64 && size >= sizeof(Elf64_Ehdr))
		return IMAGE_ELF64;
	if (buf[EI_CLASS] == ELFCLASS32 && size >= sizeof(Elf32_Ehdr))
		return IMAGE_ELF32;
	return IMAGE_UNKNOWN;
}
