using Microsoft.Win32.SafeHandles;

namespace CaStorage.Vfs.Posix;

/// <summary>The posix module's per-open state (Samba's fsp->fh): the fd and how it was opened.</summary>
internal sealed class PosixOpenFile
{
    public PosixOpenFile(SafeFileHandle handle, bool isDirectory, bool isRoot, bool writable, bool writeThrough, string realPath)
    {
        Handle = handle;
        IsDirectory = isDirectory;
        IsRoot = isRoot;
        Writable = writable;
        WriteThrough = writeThrough;
        RealPath = realPath;
    }

    public SafeFileHandle Handle { get; }
    public bool IsDirectory { get; }
    public bool IsRoot { get; }
    /// <summary>Opened O_RDWR (files only).</summary>
    public bool Writable { get; }
    /// <summary>Opened with FILE_WRITE_THROUGH: every write is followed by fdatasync.</summary>
    public bool WriteThrough { get; }
    /// <summary>
    /// For a named stream: the xattr holding its data ("user.DosStream.&lt;name&gt;:$DATA"); <see cref="Handle"/> is then
    /// the base file (or directory), opened read-only.
    /// </summary>
    public string? StreamXattr { get; init; }

    /// <summary>Real path when opened (diagnostics, and directory listing when /proc is unavailable).</summary>
    public string RealPath { get; }

    /// <summary>
    /// Writes of one open take turns: the kernel holds the inode lock for each buffered write anyway, and a client's
    /// pipelined writes (up to a connection's frames in flight) would otherwise spin on it in thread-pool threads.
    /// </summary>
    public SemaphoreSlim WriteTurn { get; } = new(1, 1);

    /// <summary>Runs <paramref name="action"/> with the raw fd, holding a reference so a concurrent close cannot reuse it.</summary>
    public T WithFd<T>(Func<int, T> action)
    {
        var added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            return action((int)Handle.DangerousGetHandle());
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }
}
