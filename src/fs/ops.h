/* The FUSE operations, one function each, found by opcode in server.c's
 * table. node: the request's node, pinned; NULL for operations that name
 * none (OP_NO_NODE). Each returns 0 with its reply in r, or -errno. */
#ifndef KRUN_FS_OPS_H
#define KRUN_FS_OPS_H

#include "fs/internal.h"

typedef int (*op_fn)(struct fuse_req *r, struct fs_inode *node);

/* confine.c: what a sealed node (inode_sealed) answers in place of op. */
int sealed_op(struct fuse_req *r, struct fs_inode *node, op_fn op);

int op_lookup(struct fuse_req *r, struct fs_inode *node);
int op_forget(struct fuse_req *r, struct fs_inode *node);
int op_batch_forget(struct fuse_req *r, struct fs_inode *node);
int op_readlink(struct fuse_req *r, struct fs_inode *node);
int op_mkdir(struct fuse_req *r, struct fs_inode *node);
int op_mknod(struct fuse_req *r, struct fs_inode *node);
int op_symlink(struct fuse_req *r, struct fs_inode *node);
int op_link(struct fuse_req *r, struct fs_inode *node);
int op_unlink(struct fuse_req *r, struct fs_inode *node);
int op_rmdir(struct fuse_req *r, struct fs_inode *node);
int op_rename(struct fuse_req *r, struct fs_inode *node);
int op_rename2(struct fuse_req *r, struct fs_inode *node);
int op_getattr(struct fuse_req *r, struct fs_inode *node);
int op_setattr(struct fuse_req *r, struct fs_inode *node);
int op_access(struct fuse_req *r, struct fs_inode *node);
int op_statfs(struct fuse_req *r, struct fs_inode *node);
int op_open(struct fuse_req *r, struct fs_inode *node);
int op_opendir(struct fuse_req *r, struct fs_inode *node);
int op_create(struct fuse_req *r, struct fs_inode *node);
int op_read(struct fuse_req *r, struct fs_inode *node);
int op_write(struct fuse_req *r, struct fs_inode *node);
int op_release(struct fuse_req *r, struct fs_inode *node);
int op_fsync(struct fuse_req *r, struct fs_inode *node);
int op_flush(struct fuse_req *r, struct fs_inode *node);
int op_fallocate(struct fuse_req *r, struct fs_inode *node);
int op_lseek(struct fuse_req *r, struct fs_inode *node);
int op_copy_file_range(struct fuse_req *r, struct fs_inode *node);
int op_init(struct fuse_req *r, struct fs_inode *node);
int op_destroy(struct fuse_req *r, struct fs_inode *node);
int op_ioctl(struct fuse_req *r, struct fs_inode *node);
int op_getlk(struct fuse_req *r, struct fs_inode *node);
int op_setlk(struct fuse_req *r, struct fs_inode *node);
int op_setlkw(struct fuse_req *r, struct fs_inode *node);
int op_getxattr(struct fuse_req *r, struct fs_inode *node);
int op_listxattr(struct fuse_req *r, struct fs_inode *node);
int op_setxattr(struct fuse_req *r, struct fs_inode *node);
int op_removexattr(struct fuse_req *r, struct fs_inode *node);
int op_readdir(struct fuse_req *r, struct fs_inode *node);
int op_readdirplus(struct fuse_req *r, struct fs_inode *node);

#endif
