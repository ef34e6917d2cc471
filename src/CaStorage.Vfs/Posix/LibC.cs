using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// The few libc calls the posix module needs (Linux only). Strings are UTF-8; callers never pass a string with
/// NUL (PathSafety rejects it, and names read from disk cannot contain it). Errors come back as -1 with errno
/// in Marshal.GetLastPInvokeError().
/// </summary>
internal static unsafe partial class LibC
{
    private const string Lib = "libc";

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_REMOVEDIR = 0x200;
    public const int AT_EMPTY_PATH = 0x1000;

    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;
    public const int O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100, O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000, O_PATH = 0x200000;

    // O_DIRECTORY / O_NOFOLLOW differ between architectures (asm-generic vs arm).
    public static readonly int O_DIRECTORY = IsArm ? 0x4000 : 0x10000;
    public static readonly int O_NOFOLLOW = IsArm ? 0x8000 : 0x20000;

    public const uint RENAME_NOREPLACE = 1;
    public const int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2, FALLOC_FL_ZERO_RANGE = 0x10;
    public const int SEEK_DATA = 3, SEEK_HOLE = 4;
    public const int XATTR_CREATE = 1, XATTR_REPLACE = 2;

    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000;
    public const uint S_IWUSR = 0x80;

    public const uint STATX_BASIC_STATS = 0x7FF, STATX_BTIME = 0x800;

    public const long UTIME_OMIT = (1L << 30) - 2;

    private static bool IsArm => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;

    [LibraryImport(Lib, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags, uint mode);

    [LibraryImport(Lib, EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int OpenAt(int dirfd, string path, int flags, uint mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "mkdirat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int MkdirAt(int dirfd, string path, uint mode);

    [LibraryImport(Lib, EntryPoint = "unlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int UnlinkAt(int dirfd, string path, int flags);

    [LibraryImport(Lib, EntryPoint = "renameat2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int RenameAt2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [LibraryImport(Lib, EntryPoint = "readlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint ReadLinkRaw(string path, byte* buf, nint size);

    [LibraryImport(Lib, EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial byte* RealPathRaw(string path, byte* resolved);

    [LibraryImport(Lib, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatxRaw(int dirfd, string path, int flags, uint mask, byte* buf);

    [LibraryImport(Lib, EntryPoint = "fgetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint FGetXattrRaw(int fd, string name, byte* value, nint size);

    [LibraryImport(Lib, EntryPoint = "lgetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint LGetXattrRaw(string path, string name, byte* value, nint size);

    [LibraryImport(Lib, EntryPoint = "fsetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int FSetXattrRaw(int fd, string name, byte* value, nint size, int flags);

    [LibraryImport(Lib, EntryPoint = "lsetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LSetXattrRaw(string path, string name, byte* value, nint size, int flags);

    [LibraryImport(Lib, EntryPoint = "fremovexattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int FRemoveXattr(int fd, string name);

    [LibraryImport(Lib, EntryPoint = "flistxattr", SetLastError = true)]
    private static partial nint FListXattrRaw(int fd, byte* list, nint size);

    [LibraryImport(Lib, EntryPoint = "fsync", SetLastError = true)]
    public static partial int FSync(int fd);

    [LibraryImport(Lib, EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int FDataSync(int fd);

    [LibraryImport(Lib, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int FTruncate(int fd, long length);

    [LibraryImport(Lib, EntryPoint = "fallocate", SetLastError = true)]
    public static partial int FAllocate(int fd, int mode, long offset, long length);

    /// <summary>lseek(2); with SEEK_DATA/SEEK_HOLE it finds data and holes (ENXIO: no data at or after the offset).</summary>
    [LibraryImport(Lib, EntryPoint = "lseek", SetLastError = true)]
    public static partial long LSeek(int fd, long offset, int whence);

    [LibraryImport(Lib, EntryPoint = "futimens", SetLastError = true)]
    private static partial int FutimensRaw(int fd, long* times);

    [LibraryImport(Lib, EntryPoint = "statvfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatVfsRaw(string path, byte* buf);

    [LibraryImport(Lib, EntryPoint = "copy_file_range", SetLastError = true)]
    private static partial nint CopyFileRangeRaw(int fdIn, long* offIn, int fdOut, long* offOut, nint len, uint flags);

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>readlink(2) into a string; null with errno on failure.</summary>
    public static string? ReadLink(string path, out int errno)
    {
        var buf = stackalloc byte[4096];
        var n = ReadLinkRaw(path, buf, 4096);
        if (n < 0) { errno = Errno; return null; }
        errno = 0;
        return Encoding.UTF8.GetString(buf, (int)n);
    }

    /// <summary>realpath(3): canonical absolute path with every symlink resolved; null with errno on failure.</summary>
    public static string? RealPath(string path, out int errno)
    {
        var buf = stackalloc byte[4097];
        var r = RealPathRaw(path, buf);
        if (r == null) { errno = Errno; return null; }
        errno = 0;
        return Marshal.PtrToStringUTF8((nint)buf);
    }

    public static int Statx(int dirfd, string path, int flags, out StatxInfo info)
    {
        var buf = stackalloc byte[256];
        var rc = StatxRaw(dirfd, path, flags, STATX_BASIC_STATS | STATX_BTIME, buf);
        if (rc != 0) { info = default; return Errno; }
        info = StatxInfo.Parse(new ReadOnlySpan<byte>(buf, 256));
        return 0;
    }

    public static int Fstat(int fd, out StatxInfo info) => Statx(fd, "", AT_EMPTY_PATH, out info);

    /// <summary>fgetxattr into a new array; null with errno (ENODATA when absent).</summary>
    public static byte[]? FGetXattr(int fd, string name, out int errno)
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var size = FGetXattrRaw(fd, name, null, 0);
            if (size < 0) { errno = Errno; return null; }
            var value = new byte[size];
            fixed (byte* p = value)
            {
                var n = FGetXattrRaw(fd, name, p, value.Length);
                if (n >= 0) { errno = 0; return n == value.Length ? value : value[..(int)n]; }
                errno = Errno;
                if (errno != PosixErrno.ERANGE) return null;
            }
        }
        errno = PosixErrno.ERANGE;
        return null;
    }

    /// <summary>lgetxattr (does not follow a final symlink) into a new array; null with errno on failure.</summary>
    public static byte[]? LGetXattr(string path, string name, out int errno)
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var size = LGetXattrRaw(path, name, null, 0);
            if (size < 0) { errno = Errno; return null; }
            var value = new byte[size];
            fixed (byte* p = value)
            {
                var n = LGetXattrRaw(path, name, p, value.Length);
                if (n >= 0) { errno = 0; return n == value.Length ? value : value[..(int)n]; }
                errno = Errno;
                if (errno != PosixErrno.ERANGE) return null;
            }
        }
        errno = PosixErrno.ERANGE;
        return null;
    }

    public static int FSetXattr(int fd, string name, ReadOnlySpan<byte> value, int flags = 0)
    {
        fixed (byte* p = value)
        {
            // A zero-length span may give a null pointer; the kernel accepts (NULL, 0).
            return FSetXattrRaw(fd, name, p, value.Length, flags) == 0 ? 0 : Errno;
        }
    }

    /// <summary>lsetxattr (does not follow a final symlink): 0 or errno.</summary>
    public static int LSetXattr(string path, string name, ReadOnlySpan<byte> value, int flags = 0)
    {
        fixed (byte* p = value)
        {
            return LSetXattrRaw(path, name, p, value.Length, flags) == 0 ? 0 : Errno;
        }
    }

    /// <summary>flistxattr: the attribute names, or null with errno.</summary>
    public static List<string>? FListXattr(int fd, out int errno)
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var size = FListXattrRaw(fd, null, 0);
            if (size < 0) { errno = Errno; return null; }
            if (size == 0) { errno = 0; return []; }
            var buf = new byte[size];
            fixed (byte* p = buf)
            {
                var n = FListXattrRaw(fd, p, buf.Length);
                if (n < 0)
                {
                    errno = Errno;
                    if (errno == PosixErrno.ERANGE) continue;
                    return null;
                }
                errno = 0;
                var names = new List<string>();
                var span = new ReadOnlySpan<byte>(p, (int)n);
                while (span.Length > 0)
                {
                    var z = span.IndexOf((byte)0);
                    if (z < 0) z = span.Length;
                    if (z > 0) names.Add(Encoding.UTF8.GetString(span[..z]));
                    span = z + 1 <= span.Length ? span[(z + 1)..] : default;
                }
                return names;
            }
        }
        errno = PosixErrno.ERANGE;
        return null;
    }

    /// <summary>futimens with UTIME_OMIT for a null time. Times are (seconds, nanoseconds).</summary>
    public static int Futimens(int fd, (long Sec, long Nsec)? atime, (long Sec, long Nsec)? mtime)
    {
        var t = stackalloc long[4];
        t[0] = atime?.Sec ?? 0; t[1] = atime?.Nsec ?? UTIME_OMIT;
        t[2] = mtime?.Sec ?? 0; t[3] = mtime?.Nsec ?? UTIME_OMIT;
        return FutimensRaw(fd, t) == 0 ? 0 : Errno;
    }

    public static int StatVfs(string path, out StatVfsInfo info)
    {
        // struct statvfs on 64-bit Linux: 11 unsigned longs then 6 ints of padding (112 bytes).
        var buf = stackalloc byte[256];
        if (StatVfsRaw(path, buf) != 0) { info = default; return Errno; }
        var s = new ReadOnlySpan<byte>(buf, 256);
        info = new StatVfsInfo(
            BlockSize: BinaryPrimitives.ReadInt64LittleEndian(s),
            FragmentSize: BinaryPrimitives.ReadInt64LittleEndian(s[8..]),
            Blocks: BinaryPrimitives.ReadInt64LittleEndian(s[16..]),
            BlocksFree: BinaryPrimitives.ReadInt64LittleEndian(s[24..]),
            BlocksAvailable: BinaryPrimitives.ReadInt64LittleEndian(s[32..]));
        return 0;
    }

    /// <summary>copy_file_range with explicit offsets (advanced on return); bytes copied or -1 with errno.</summary>
    public static long CopyFileRange(int fdIn, ref long offIn, int fdOut, ref long offOut, long length, out int errno)
    {
        long a = offIn, b = offOut;
        var n = CopyFileRangeRaw(fdIn, &a, fdOut, &b, (nint)length, 0);
        if (n < 0) { errno = Errno; return -1; }
        errno = 0;
        offIn = a; offOut = b;
        return n;
    }
}

/// <summary>Linux errno values the posix module tests for (NtStatusMap does the mapping).</summary>
internal static class PosixErrno
{
    public const int ENOENT = 2, ENXIO = 6, EBADF = 9, EACCES = 13, EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
        ERANGE = 34, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61, EOPNOTSUPP = 95, EROFS = 30;
}

internal readonly record struct StatVfsInfo(long BlockSize, long FragmentSize, long Blocks, long BlocksFree, long BlocksAvailable);

/// <summary>The fields of struct statx (fixed, architecture-independent layout) that the VFS uses.</summary>
internal readonly record struct StatxInfo(
    uint Mask, uint Mode, uint Links, ulong Inode, long Size, long Blocks,
    long AtimeSec, uint AtimeNsec, long BtimeSec, uint BtimeNsec, long CtimeSec, uint CtimeNsec, long MtimeSec, uint MtimeNsec)
{
    public uint FileType => Mode & LibC.S_IFMT;
    public bool IsDirectory => FileType == LibC.S_IFDIR;
    public bool IsRegular => FileType == LibC.S_IFREG;
    public bool IsSymlink => FileType == LibC.S_IFLNK;
    public bool HasBirthTime => (Mask & LibC.STATX_BTIME) != 0 && BtimeSec != 0;

    public static StatxInfo Parse(ReadOnlySpan<byte> b) => new(
        Mask: BinaryPrimitives.ReadUInt32LittleEndian(b),
        Mode: BinaryPrimitives.ReadUInt16LittleEndian(b[28..]),
        Links: BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
        Inode: BinaryPrimitives.ReadUInt64LittleEndian(b[32..]),
        Size: BinaryPrimitives.ReadInt64LittleEndian(b[40..]),
        Blocks: BinaryPrimitives.ReadInt64LittleEndian(b[48..]),
        AtimeSec: BinaryPrimitives.ReadInt64LittleEndian(b[64..]), AtimeNsec: BinaryPrimitives.ReadUInt32LittleEndian(b[72..]),
        BtimeSec: BinaryPrimitives.ReadInt64LittleEndian(b[80..]), BtimeNsec: BinaryPrimitives.ReadUInt32LittleEndian(b[88..]),
        CtimeSec: BinaryPrimitives.ReadInt64LittleEndian(b[96..]), CtimeNsec: BinaryPrimitives.ReadUInt32LittleEndian(b[104..]),
        MtimeSec: BinaryPrimitives.ReadInt64LittleEndian(b[112..]), MtimeNsec: BinaryPrimitives.ReadUInt32LittleEndian(b[120..]));
}
