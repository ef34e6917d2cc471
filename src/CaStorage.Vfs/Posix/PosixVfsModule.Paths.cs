using System.IO.Enumeration;
using CaStorage.Core;

namespace CaStorage.Vfs.Posix;

public sealed partial class PosixVfsModule
{
    private static readonly bool s_procFd = Directory.Exists("/proc/self/fd");

    private static readonly EnumerationOptions s_enumOptions = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = 0,
        ReturnSpecialDirectories = false,
        MatchType = MatchType.Simple,
    };

    private string? _rootReal;

    /// <summary>
    /// Where a share-relative path leads on disk. <see cref="ParentReal"/>/<see cref="EntryName"/> name the
    /// directory entry itself (which may be a symlink); <see cref="RealPath"/> is the object it leads to
    /// (symlinks resolved, always inside the root). When absent, ParentReal/EntryName say where it would be created.
    /// </summary>
    private sealed record Resolution(
        bool Exists,
        bool IsRoot,
        bool IsDirectory,
        bool EntryIsSymlink,
        string ParentReal,
        string EntryName,
        string RealPath,
        ulong EntryInode,
        string ParentShareRelative,
        bool DefaultStream)
    {
        public string ShareRelative => IsRoot ? "" : ParentShareRelative.Length == 0 ? EntryName : ParentShareRelative + "\\" + EntryName;
    }

    private NtStatus TryGetRoot(out string root)
    {
        root = Volatile.Read(ref _rootReal) ?? "";
        if (root.Length > 0) return NtStatus.Success;
        var real = LibC.RealPath(_configuredRoot, out var errno);
        if (real is null || LibC.Statx(LibC.AT_FDCWD, real, LibC.AT_SYMLINK_NOFOLLOW, out var st) != 0 || !st.IsDirectory)
        {
            VfsLog.RootUnavailable(_logger, _shareName, _configuredRoot, errno);
            return NtStatus.BadNetworkName;
        }
        Volatile.Write(ref _rootReal, real);
        root = real;
        return NtStatus.Success;
    }

    private static string Join(string dir, string name) => dir == "/" ? "/" + name : dir + "/" + name;

    private static (string Parent, string Name) Split(string realPath)
    {
        var i = realPath.LastIndexOf('/');
        return i <= 0 ? ("/", realPath[(i + 1)..]) : (realPath[..i], realPath[(i + 1)..]);
    }

    /// <summary>Parses with PathSafety and resolves on disk.</summary>
    private NtStatus ParseAndResolve(string wirePath, out string root, out Resolution resolution, out string? streamName)
    {
        resolution = null!;
        streamName = null;
        var status = TryGetRoot(out root);
        if (status != NtStatus.Success) return status;
        status = PathSafety.TryParse(wirePath, out var path);
        if (status != NtStatus.Success) return status;
        streamName = path.StreamName;
        return Resolve(root, path, out resolution);
    }

    /// <summary>
    /// Walks the components from the root: exact name first, then a case-insensitive match (Samba's default
    /// "case sensitive = auto" behaviour for Windows clients). A symlink is followed only when its target
    /// resolves inside the root ("wide links = no"); otherwise AccessDenied. Special files are treated as absent.
    /// </summary>
    private NtStatus Resolve(string root, VfsPath path, out Resolution resolution)
    {
        resolution = null!;
        if (path.IsRoot)
        {
            var err = LibC.Statx(LibC.AT_FDCWD, root, LibC.AT_SYMLINK_NOFOLLOW, out var rst);
            if (err != 0) return NtStatusMap.FromErrno(err);
            resolution = new Resolution(true, true, true, false, "", "", root, rst.Inode, "", path.DefaultStream);
            return NtStatus.Success;
        }

        var cur = root;
        var rel = new List<string>(path.Components.Count);
        for (var i = 0; i < path.Components.Count; i++)
        {
            var comp = path.Components[i];
            var last = i == path.Components.Count - 1;
            var name = comp;
            var candidate = Join(cur, comp);
            var err = LibC.Statx(LibC.AT_FDCWD, candidate, LibC.AT_SYMLINK_NOFOLLOW, out var lst);
            if (err == PosixErrno.ENOENT)
            {
                var match = FindCaseInsensitive(cur, comp);
                if (match is not null)
                {
                    name = match;
                    candidate = Join(cur, match);
                    err = LibC.Statx(LibC.AT_FDCWD, candidate, LibC.AT_SYMLINK_NOFOLLOW, out lst);
                }
            }
            if (err == PosixErrno.ENOENT)
            {
                if (!last) return NtStatus.ObjectPathNotFound;
                resolution = Absent(cur, comp, rel, path);
                return NtStatus.Success;
            }
            if (err == PosixErrno.ENOTDIR || err == PosixErrno.ELOOP) return NtStatus.ObjectPathNotFound;
            if (err != 0) return NtStatusMap.FromErrno(err);

            var real = candidate;
            var st = lst;
            if (lst.IsSymlink)
            {
                var target = LibC.RealPath(candidate, out _);
                if (target is null || LibC.Statx(LibC.AT_FDCWD, target, LibC.AT_SYMLINK_NOFOLLOW, out st) != 0)
                {
                    // Dangling or looping link: absent (creating over it fails with a name collision).
                    if (!last) return NtStatus.ObjectPathNotFound;
                    resolution = Absent(cur, name, rel, path);
                    return NtStatus.Success;
                }
                if (!PathSafety.IsWithinRoot(root, target))
                {
                    VfsLog.SymlinkOutsideShare(_logger, _shareName, string.Join('\\', rel.Append(name)));
                    return NtStatus.AccessDenied;
                }
                real = target;
            }
            if (!st.IsDirectory && !st.IsRegular)
            {
                // FIFOs, sockets and devices are never served.
                if (!last) return NtStatus.ObjectPathNotFound;
                resolution = Absent(cur, name, rel, path);
                return NtStatus.Success;
            }
            if (!last)
            {
                if (!st.IsDirectory) return NtStatus.ObjectPathNotFound;
                rel.Add(name);
                cur = real;
                continue;
            }
            resolution = new Resolution(true, false, st.IsDirectory, lst.IsSymlink, cur, name, real, lst.Inode,
                string.Join('\\', rel), path.DefaultStream);
            return NtStatus.Success;
        }
        throw new InvalidOperationException("unreachable");
    }

    private static Resolution Absent(string parentReal, string name, List<string> rel, VfsPath path) =>
        new(false, false, false, false, parentReal, name, Join(parentReal, name), 0, string.Join('\\', rel), path.DefaultStream);

    private static string? FindCaseInsensitive(string dirReal, string name)
    {
        try
        {
            string? best = null;
            var e = new FileSystemEnumerable<string>(dirReal, (ref FileSystemEntry entry) => entry.FileName.ToString(), s_enumOptions);
            foreach (var candidate in e)
            {
                if (string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase)
                    && (best is null || string.CompareOrdinal(candidate, best) < 0))
                {
                    best = candidate;
                }
            }
            return best;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Opens a directory by real path as an O_PATH fd and proves, through /proc/self/fd, that it is inside the
    /// root. Every create, rename and unlink then works relative to this fd with O_NOFOLLOW on the last name,
    /// so a symlink swapped in after resolution cannot redirect it outside the share.
    /// </summary>
    internal NtStatus OpenVerifiedDirectory(string root, string dirReal, out int fd)
    {
        fd = LibC.Open(dirReal, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            var err = LibC.Errno;
            return err is PosixErrno.ENOENT or PosixErrno.ENOTDIR or PosixErrno.ELOOP ? NtStatus.ObjectPathNotFound : NtStatusMap.FromErrno(err);
        }
        if (!IsFdWithinRoot(fd, root))
        {
            LibC.Close(fd);
            fd = -1;
            VfsLog.DirectoryEscaped(_logger, _shareName, dirReal);
            return NtStatus.AccessDenied;
        }
        return NtStatus.Success;
    }

    private static bool IsFdWithinRoot(int fd, string root)
    {
        if (!s_procFd) return true;
        var actual = LibC.ReadLink("/proc/self/fd/" + fd, out _);
        return actual is not null && PathSafety.IsWithinRoot(root, actual);
    }

    /// <summary>The current real path of an open fd (follows renames), or null.</summary>
    private static string? FdPath(int fd) => s_procFd ? LibC.ReadLink("/proc/self/fd/" + fd, out _) : null;

    private static IEnumerable<string> ListNames(string dirPath)
    {
        var names = new List<string>();
        var e = new FileSystemEnumerable<string>(dirPath, (ref FileSystemEntry entry) => entry.FileName.ToString(), s_enumOptions);
        foreach (var n in e) names.Add(n);
        names.Sort(StringComparer.Ordinal);
        return names;
    }
}
