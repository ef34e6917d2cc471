namespace CaStorage.Core;

/// <summary>
/// The one mapping from OS failures to NTSTATUS (after Samba's errmap_unix.c).
/// .NET on Unix leaves the raw errno in IOException.HResult for many errors; others arrive as typed exceptions.
/// </summary>
public static class NtStatusMap
{
    // Linux errno values.
    public const int EPERM = 1, ENOENT = 2, EIO = 5, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EBUSY = 16,
        EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, EFBIG = 27,
        ENOSPC = 28, EROFS = 30, EMLINK = 31, ENAMETOOLONG = 36, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61,
        EOPNOTSUPP = 95, EDQUOT = 122, E2BIG = 7, ERANGE = 34;

    public static NtStatus FromErrno(int errno) => errno switch
    {
        0 => NtStatus.Success,
        EPERM or EACCES => NtStatus.AccessDenied,
        ENOENT => NtStatus.ObjectNameNotFound,
        EIO => NtStatus.Unsuccessful,
        EBADF => NtStatus.InvalidHandle,
        EAGAIN or EBUSY => NtStatus.SharingViolation,
        ENOMEM => NtStatus.NoMemory,
        EEXIST => NtStatus.ObjectNameCollision,
        EXDEV => NtStatus.NotSameDevice,
        ENOTDIR => NtStatus.NotADirectory,
        EISDIR => NtStatus.FileIsADirectory,
        EINVAL => NtStatus.InvalidParameter,
        ENFILE or EMFILE => NtStatus.TooManyOpenedFiles,
        EFBIG or ENOSPC or EDQUOT => NtStatus.DiskFull,
        EROFS => NtStatus.MediaWriteProtected,
        EMLINK => NtStatus.TooManyOpenedFiles,
        ENAMETOOLONG => NtStatus.NameTooLong,
        ENOTEMPTY => NtStatus.DirectoryNotEmpty,
        ELOOP => NtStatus.ObjectPathNotFound,
        ENODATA => NtStatus.NotFound,
        EOPNOTSUPP => NtStatus.NotSupported,
        E2BIG or ERANGE => NtStatus.BufferTooSmall,
        _ => NtStatus.Unsuccessful,
    };

    public static NtStatus FromException(Exception ex) => ex switch
    {
        FileNotFoundException => NtStatus.ObjectNameNotFound,
        DirectoryNotFoundException => NtStatus.ObjectPathNotFound,
        PathTooLongException => NtStatus.NameTooLong,
        UnauthorizedAccessException => NtStatus.AccessDenied,
        OperationCanceledException => NtStatus.Cancelled,
        IOException io when io.HResult is > 0 and < 4096 => FromErrno(io.HResult),
        IOException => NtStatus.Unsuccessful,
        OutOfMemoryException => NtStatus.NoMemory,
        _ => NtStatus.InternalError,
    };
}
