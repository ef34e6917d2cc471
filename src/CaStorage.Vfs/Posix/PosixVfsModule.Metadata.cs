using System.Text;
using CaStorage.Core;

namespace CaStorage.Vfs.Posix;

public sealed partial class PosixVfsModule
{
    // ---------------------------------------------------------------- stat

    public override ValueTask<VfsResult<VfsFileInfo>> StatAsync(VfsTreeContext tree, string path, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromResult<VfsResult<VfsFileInfo>>(NtStatus.Cancelled);
        try
        {
            var status = ParseAndResolve(path, out var root, out var r, out var stream);
            if (status != NtStatus.Success) return ValueTask.FromResult<VfsResult<VfsFileInfo>>(status);
            if (!r.Exists) return ValueTask.FromResult<VfsResult<VfsFileInfo>>(NtStatus.ObjectNameNotFound);
            if (stream is not null) return ValueTask.FromResult(StatStream(root, r, stream));
            var err = LibC.Statx(LibC.AT_FDCWD, r.RealPath, LibC.AT_SYMLINK_NOFOLLOW, out var st);
            if (err != 0) return ValueTask.FromResult<VfsResult<VfsFileInfo>>(err == PosixErrno.ENOENT ? NtStatus.ObjectNameNotFound : NtStatusMap.FromErrno(err));
            var dos = LibC.LGetXattr(r.RealPath, DosAttribXattr.Name, out _);
            return ValueTask.FromResult(VfsResult<VfsFileInfo>.Ok(BuildInfo(st, dos, r.IsRoot)));
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return ValueTask.FromResult<VfsResult<VfsFileInfo>>(MapException(ex));
        }
    }

    public override ValueTask<VfsResult<VfsFileInfo>> FstatAsync(VfsFile file, CancellationToken ct) =>
        WithFile<VfsFileInfo>(file, ct, ext => ext.WithFd<VfsResult<VfsFileInfo>>(fd =>
        {
            if (ext.StreamXattr is not null) return StreamInfo(fd, ext.StreamXattr, ext.IsRoot);
            var err = LibC.Fstat(fd, out var st);
            if (err != 0) return NtStatusMap.FromErrno(err);
            return VfsResult<VfsFileInfo>.Ok(BuildInfo(st, LibC.FGetXattr(fd, DosAttribXattr.Name, out _), ext.IsRoot));
        }));

    /// <summary>
    /// DOS view of a stat: attributes from user.DOSATTRIB (or, without it and for the share root, from the mode:
    /// Directory, or ReadOnly for a file without the owner write bit); Directory always set for directories and
    /// Normal for a file with no other bit. Creation time from the xattr, else the birth time, else the older of
    /// mtime and ctime.
    /// </summary>
    private static VfsFileInfo BuildInfo(in StatxInfo st, byte[]? dosBlob, bool isRoot)
    {
        uint? stored = null;
        long? created = null;
        if (dosBlob is not null && DosAttribXattr.TryDecode(dosBlob, out var a, out var c))
        {
            stored = a;
            created = c;
        }
        NtFileAttributes attributes;
        if (stored is { } s && !isRoot) attributes = (NtFileAttributes)s & (st.IsDirectory ? StoredAttributes : PersistedAttributes);
        else attributes = !st.IsDirectory && (st.Mode & LibC.S_IWUSR) == 0 ? NtFileAttributes.ReadOnly : NtFileAttributes.None;
        if (st.IsDirectory) attributes |= NtFileAttributes.Directory;
        else if (attributes == NtFileAttributes.None) attributes = NtFileAttributes.Normal;

        var mtime = FileTime.FromUnix(st.MtimeSec, st.MtimeNsec);
        var ctime = FileTime.FromUnix(st.CtimeSec, st.CtimeNsec);
        var creation = created ?? (st.HasBirthTime ? FileTime.FromUnix(st.BtimeSec, st.BtimeNsec) : Math.Min(mtime, ctime));
        return new VfsFileInfo
        {
            CreationTime = creation,
            LastAccessTime = FileTime.FromUnix(st.AtimeSec, st.AtimeNsec),
            LastWriteTime = mtime,
            ChangeTime = ctime,
            EndOfFile = st.IsDirectory ? 0 : st.Size,
            AllocationSize = st.IsDirectory ? 0 : st.Blocks * 512,
            Attributes = attributes,
            FileId = st.Inode,
            NumberOfLinks = st.Links,
        };
    }

    private static NtFileAttributes EffectiveAttributes(int fd, bool isRoot)
    {
        if (LibC.Fstat(fd, out var st) != 0) return NtFileAttributes.None;
        return BuildInfo(st, LibC.FGetXattr(fd, DosAttribXattr.Name, out _), isRoot).Attributes;
    }

    // ---------------------------------------------------------------- set info

    public override ValueTask<NtStatus> SetBasicInfoAsync(VfsFile file, VfsBasicInfo info, CancellationToken ct) =>
        WithFile(file, ct, ext => ext.WithFd(fd =>
        {
            // FILETIME 0 = leave unchanged; -1/-2 (suspend/resume automatic updates) are accepted and ignored.
            static bool Changes(long? t) => t is { } v && v > 0;
            static bool Invalid(long? t) => t is < -2;
            if (Invalid(info.CreationTime) || Invalid(info.LastAccessTime) || Invalid(info.LastWriteTime) || Invalid(info.ChangeTime))
                return NtStatus.InvalidParameter;

            NtFileAttributes? newAttributes = null;
            if (info.Attributes is { } a && a != NtFileAttributes.None)
            {
                if (!ext.IsDirectory && (a & NtFileAttributes.Directory) != 0) return NtStatus.InvalidParameter;
                if (ext.IsDirectory && (a & NtFileAttributes.Temporary) != 0) return NtStatus.InvalidParameter;
                newAttributes = a & StoredAttributes;
            }

            if (Changes(info.LastAccessTime) || Changes(info.LastWriteTime))
            {
                var err = LibC.Futimens(fd,
                    Changes(info.LastAccessTime) ? FileTime.ToUnix(info.LastAccessTime!.Value) : null,
                    Changes(info.LastWriteTime) ? FileTime.ToUnix(info.LastWriteTime!.Value) : null);
                if (err != 0) return NtStatusMap.FromErrno(err);
            }

            if (newAttributes is not null || Changes(info.CreationTime))
            {
                var err = LibC.Fstat(fd, out var st);
                if (err != 0) return NtStatusMap.FromErrno(err);
                var current = BuildInfo(st, LibC.FGetXattr(fd, DosAttribXattr.Name, out _), isRoot: false);
                // The sparse flag belongs to FSCTL_SET_SPARSE: keep it whatever the new attributes say.
                var attributes = (newAttributes ?? (current.Attributes & StoredAttributes)) | (current.Attributes & NtFileAttributes.SparseFile);
                if (ext.IsDirectory) attributes |= NtFileAttributes.Directory;
                var creation = Changes(info.CreationTime) ? info.CreationTime!.Value : current.CreationTime;
                err = LibC.FSetXattr(fd, DosAttribXattr.Name, DosAttribXattr.Encode((uint)attributes, creation));
                if (err != 0) return NtStatusMap.FromErrno(err);
            }
            return NtStatus.Success;
        }));

    // ---------------------------------------------------------------- directories

    public override ValueTask<VfsResult<IReadOnlyList<VfsDirEntry>>> EnumerateAsync(VfsFile directory, CancellationToken ct) =>
        WithFile<IReadOnlyList<VfsDirEntry>>(directory, ct, ext =>
        {
            if (!ext.IsDirectory) return NtStatus.InvalidParameter;
            var status = TryGetRoot(out var root);
            if (status != NtStatus.Success) return status;
            return ext.WithFd<VfsResult<IReadOnlyList<VfsDirEntry>>>(fd =>
            {
                // List through the fd itself, so a rename of the directory since the open does not matter.
                var dirPath = s_procFd ? "/proc/self/fd/" + fd : ext.RealPath;
                var entries = new List<VfsDirEntry>();
                foreach (var name in ListNames(dirPath))
                {
                    if (ct.IsCancellationRequested) return NtStatus.Cancelled;
                    if (LibC.Statx(fd, name, LibC.AT_SYMLINK_NOFOLLOW, out var st) != 0) continue; // raced with a delete
                    byte[]? dos;
                    if (st.IsSymlink)
                    {
                        // Shown as its target when the target is inside the share; hidden otherwise (wide links = no).
                        var target = LibC.RealPath(dirPath + "/" + name, out _);
                        if (target is null || !PathSafety.IsWithinRoot(root, target)) continue;
                        if (LibC.Statx(LibC.AT_FDCWD, target, LibC.AT_SYMLINK_NOFOLLOW, out st) != 0) continue;
                        dos = LibC.LGetXattr(target, DosAttribXattr.Name, out _);
                    }
                    else
                    {
                        dos = LibC.LGetXattr(dirPath + "/" + name, DosAttribXattr.Name, out _);
                    }
                    if (!st.IsDirectory && !st.IsRegular) continue;
                    entries.Add(new VfsDirEntry(name, BuildInfo(st, dos, isRoot: false)));
                }
                return VfsResult<IReadOnlyList<VfsDirEntry>>.Ok(entries);
            });
        });

    // ---------------------------------------------------------------- rename / unlink

    public override ValueTask<NtStatus> RenameAsync(VfsFile file, string newPath, bool replaceIfExists, CancellationToken ct) =>
        WithFile(file, ct, ext =>
        {
            if (ext.IsRoot) return NtStatus.AccessDenied;
            if (ext.StreamXattr is not null) return NtStatus.NotSupported; // renaming a stream is not supported yet
            var status = TryGetRoot(out var root);
            if (status != NtStatus.Success) return status;
            status = PathSafety.TryParse(newPath, out var target);
            if (status != NtStatus.Success) return status;
            if (target.IsStream) return NtStatus.InvalidParameter;

            // Find the entry the handle is open under: its recorded path if that still leads to the same inode,
            // else wherever the fd is now (it may have been renamed by someone else).
            string srcParent, srcName;
            ulong srcEntryInode;
            bool srcIsDir = ext.IsDirectory;
            if (PathSafety.TryParse(file.Path, out var current) == NtStatus.Success
                && Resolve(root, current, out var r) == NtStatus.Success && r.Exists && !r.IsRoot
                && LibC.Statx(LibC.AT_FDCWD, r.RealPath, LibC.AT_SYMLINK_NOFOLLOW, out var rst) == 0 && rst.Inode == file.FileId)
            {
                (srcParent, srcName, srcEntryInode) = (r.ParentReal, r.EntryName, r.EntryInode);
            }
            else
            {
                var real = ext.WithFd(FdPath);
                if (real is null || !PathSafety.IsWithinRoot(root, real) || real == root) return NtStatus.ObjectNameNotFound;
                (srcParent, srcName) = Split(real);
                srcEntryInode = file.FileId;
            }

            status = RenameEntry(root, srcParent, srcName, srcEntryInode, srcIsDir, target, replaceIfExists, out var newRelative);
            if (status == NtStatus.Success) file.Path = newRelative;
            return status;
        });

    public override ValueTask<NtStatus> RenamePathAsync(VfsTreeContext tree, string oldPath, string newPath, bool replaceIfExists, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromResult(NtStatus.Cancelled);
        try
        {
            var status = ParseAndResolve(oldPath, out var root, out var src, out var srcStream);
            if (status != NtStatus.Success) return ValueTask.FromResult(status);
            if (srcStream is not null) return ValueTask.FromResult(NtStatus.NotSupported);
            if (!src.Exists) return ValueTask.FromResult(NtStatus.ObjectNameNotFound);
            if (src.IsRoot) return ValueTask.FromResult(NtStatus.AccessDenied);
            status = PathSafety.TryParse(newPath, out var target);
            if (status != NtStatus.Success) return ValueTask.FromResult(status);
            if (target.IsStream) return ValueTask.FromResult(NtStatus.InvalidParameter);
            return ValueTask.FromResult(RenameEntry(root, src.ParentReal, src.EntryName, src.EntryInode,
                src.IsDirectory && !src.EntryIsSymlink, target, replaceIfExists, out _));
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return ValueTask.FromResult(MapException(ex));
        }
    }

    private NtStatus RenameEntry(string root, string srcParent, string srcName, ulong srcEntryInode, bool srcIsDir,
        VfsPath target, bool replace, out string newRelative)
    {
        newRelative = "";
        if (target.IsRoot) return NtStatus.AccessDenied;
        var status = Resolve(root, target, out var d);
        if (status != NtStatus.Success) return status;
        var requested = target.Name;

        status = OpenVerifiedDirectory(root, srcParent, out var spfd);
        if (status != NtStatus.Success) return status;
        try
        {
            status = OpenVerifiedDirectory(root, d.ParentReal, out var dpfd);
            if (status != NtStatus.Success) return status;
            try
            {
                int rc;
                if (d.Exists && d.EntryInode == srcEntryInode && d.ParentReal == srcParent
                    && string.Equals(d.EntryName, srcName, StringComparison.OrdinalIgnoreCase))
                {
                    // The target is the source itself: a no-op, or a change of case only.
                    if (srcName == requested) { newRelative = Relative(d.ParentShareRelative, requested); return NtStatus.Success; }
                    rc = Rename(spfd, srcName, dpfd, requested, noReplace: true);
                }
                else if (d.Exists)
                {
                    if (!replace) return NtStatus.ObjectNameCollision;
                    if (d.IsDirectory && !d.EntryIsSymlink) return NtStatus.AccessDenied; // a directory is never replaced
                    if (srcIsDir) return NtStatus.AccessDenied;
                    rc = Rename(spfd, srcName, dpfd, d.EntryName, noReplace: false);
                    if (rc == 0 && d.EntryName != requested) Rename(dpfd, d.EntryName, dpfd, requested, noReplace: true); // take the new case
                }
                else
                {
                    rc = Rename(spfd, srcName, dpfd, requested, noReplace: true);
                }
                if (rc != 0)
                {
                    return rc switch
                    {
                        PosixErrno.EEXIST or PosixErrno.ENOTEMPTY => NtStatus.ObjectNameCollision,
                        PosixErrno.ENOENT => NtStatus.ObjectNameNotFound,
                        PosixErrno.EINVAL => NtStatus.InvalidParameter, // e.g. a directory into its own subtree
                        _ => NtStatusMap.FromErrno(rc),
                    };
                }
                newRelative = Relative(d.ParentShareRelative, requested);
                return NtStatus.Success;
            }
            finally
            {
                LibC.Close(dpfd);
            }
        }
        finally
        {
            LibC.Close(spfd);
        }
    }

    private static string Relative(string parent, string name) => parent.Length == 0 ? name : parent + "\\" + name;

    // renameat2 with RENAME_NOREPLACE; falls back to a checked renameat on file systems without the flag.
    private static int Rename(int fromDir, string fromName, int toDir, string toName, bool noReplace)
    {
        if (LibC.RenameAt2(fromDir, fromName, toDir, toName, noReplace ? LibC.RENAME_NOREPLACE : 0) == 0) return 0;
        var err = LibC.Errno;
        if (noReplace && err == PosixErrno.EINVAL)
        {
            if (LibC.Statx(toDir, toName, LibC.AT_SYMLINK_NOFOLLOW, out _) == 0) return PosixErrno.EEXIST;
            if (LibC.RenameAt2(fromDir, fromName, toDir, toName, 0) == 0) return 0;
            err = LibC.Errno;
        }
        return err;
    }

    public override ValueTask<NtStatus> UnlinkAsync(VfsTreeContext tree, string path, bool isDirectory, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromResult(NtStatus.Cancelled);
        try
        {
            var status = ParseAndResolve(path, out var root, out var r, out var stream);
            if (status != NtStatus.Success) return ValueTask.FromResult(status);
            if (!r.Exists) return ValueTask.FromResult(NtStatus.ObjectNameNotFound);
            if (stream is not null) return ValueTask.FromResult(UnlinkStream(root, r, stream));
            if (r.IsRoot) return ValueTask.FromResult(NtStatus.AccessDenied);
            if (isDirectory && !r.IsDirectory) return ValueTask.FromResult(NtStatus.NotADirectory);
            if (!isDirectory && r.IsDirectory) return ValueTask.FromResult(NtStatus.FileIsADirectory);
            status = OpenVerifiedDirectory(root, r.ParentReal, out var pfd);
            if (status != NtStatus.Success) return ValueTask.FromResult(status);
            try
            {
                // A symlink is removed as itself, never its target.
                var flags = r.IsDirectory && !r.EntryIsSymlink ? LibC.AT_REMOVEDIR : 0;
                if (LibC.UnlinkAt(pfd, r.EntryName, flags) == 0) return ValueTask.FromResult(NtStatus.Success);
                var err = LibC.Errno;
                return ValueTask.FromResult(err switch
                {
                    PosixErrno.ENOTEMPTY or PosixErrno.EEXIST => NtStatus.DirectoryNotEmpty,
                    PosixErrno.ENOENT => NtStatus.ObjectNameNotFound,
                    _ => NtStatusMap.FromErrno(err),
                });
            }
            finally
            {
                LibC.Close(pfd);
            }
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return ValueTask.FromResult(MapException(ex));
        }
    }

    // ---------------------------------------------------------------- volume

    public override ValueTask<VfsResult<VfsFsInfo>> GetFsInfoAsync(VfsTreeContext tree, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromResult<VfsResult<VfsFsInfo>>(NtStatus.Cancelled);
        var status = TryGetRoot(out var root);
        if (status != NtStatus.Success) return ValueTask.FromResult<VfsResult<VfsFsInfo>>(status);
        var err = LibC.StatVfs(root, out var vfs);
        if (err != 0) return ValueTask.FromResult<VfsResult<VfsFsInfo>>(NtStatusMap.FromErrno(err));
        var unit = vfs.FragmentSize > 0 ? vfs.FragmentSize : vfs.BlockSize;
        long created = 0;
        if (LibC.Statx(LibC.AT_FDCWD, root, LibC.AT_SYMLINK_NOFOLLOW, out var st) == 0)
            created = BuildInfo(st, LibC.LGetXattr(root, DosAttribXattr.Name, out _), isRoot: true).CreationTime;
        // The serial number must be the same on every node of a cluster: derive it from the share name.
        var h = StableHash.Of(_shareName.ToUpperInvariant());
        var serial = (uint)(h ^ (h >> 32));
        return ValueTask.FromResult(VfsResult<VfsFsInfo>.Ok(new VfsFsInfo(
            TotalBytes: vfs.Blocks * unit,
            FreeBytes: vfs.BlocksFree * unit,
            AvailableBytes: vfs.BlocksAvailable * unit,
            BytesPerSector: 512,
            SectorsPerUnit: (int)Math.Max(1, unit / 512),
            FileSystemName: "NTFS",
            VolumeSerial: serial,
            VolumeLabel: _shareName,
            VolumeCreationTime: created)));
    }

    // ---------------------------------------------------------------- streams and EAs

    public override ValueTask<VfsResult<IReadOnlyList<VfsStreamInfo>>> ListStreamsAsync(VfsFile file, CancellationToken ct) =>
        WithFile<IReadOnlyList<VfsStreamInfo>>(file, ct, ext => ext.WithFd(fd =>
        {
            // A stream handle lists the streams of its base file (or directory).
            var isDirectory = ext.IsDirectory;
            if (ext.StreamXattr is not null && LibC.Fstat(fd, out var bst) == 0) isDirectory = bst.IsDirectory;
            return ListStreams(fd, isDirectory);
        }));

    private const string UserXattrPrefix = "user.";
    private const int MaxEaValueLength = 65535;

    /// <summary>Names (after "user.") that are ours or Samba's and are never shown or set as EAs (samba_private_attr_name).</summary>
    private static bool IsPrivateEaName(string name) =>
        name.Equals("DOSATTRIB", StringComparison.OrdinalIgnoreCase)
        || name.Equals("DosAttrib", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("castorage.", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("DosStream.", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("DosEAs", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("SAMBA_", StringComparison.OrdinalIgnoreCase);

    /// <summary>MS-FSCC 2.4.15: 1–255 ASCII characters, none of the control or reserved characters.</summary>
    private static bool IsValidEaName(string name)
    {
        if (name.Length is 0 or > 255) return false;
        foreach (var c in name)
        {
            if (c < 0x20 || c > 0x7E) return false;
            if ("\"*+,/:;<=>?[\\]|".Contains(c)) return false;
        }
        return true;
    }

    public override ValueTask<VfsResult<IReadOnlyList<VfsEa>>> GetEasAsync(VfsFile file, CancellationToken ct) =>
        WithFile<IReadOnlyList<VfsEa>>(file, ct, ext => ext.WithFd<VfsResult<IReadOnlyList<VfsEa>>>(fd =>
        {
            var names = LibC.FListXattr(fd, out var err);
            if (names is null) return err == PosixErrno.EOPNOTSUPP ? VfsResult<IReadOnlyList<VfsEa>>.Ok([]) : NtStatusMap.FromErrno(err);
            var eas = new List<VfsEa>();
            foreach (var xattr in names.Order(StringComparer.Ordinal))
            {
                if (!xattr.StartsWith(UserXattrPrefix, StringComparison.Ordinal)) continue;
                var name = xattr[UserXattrPrefix.Length..];
                if (IsPrivateEaName(name) || !IsValidEaName(name)) continue;
                var value = LibC.FGetXattr(fd, xattr, out _);
                if (value is not null) eas.Add(new VfsEa(name, value));
            }
            return VfsResult<IReadOnlyList<VfsEa>>.Ok(eas);
        }));

    public override ValueTask<NtStatus> SetEasAsync(VfsFile file, IReadOnlyList<VfsEa> eas, CancellationToken ct) =>
        WithFile(file, ct, ext =>
        {
            foreach (var ea in eas)
            {
                if (!IsValidEaName(ea.Name)) return NtStatus.InvalidParameter;
                if (IsPrivateEaName(ea.Name)) return NtStatus.AccessDenied;
                if (ea.Value.Length > MaxEaValueLength) return NtStatus.EaTooLarge;
            }
            return ext.WithFd(fd =>
            {
                var existing = LibC.FListXattr(fd, out var err);
                if (existing is null) return NtStatusMap.FromErrno(err);
                foreach (var ea in eas)
                {
                    // EA names are case-insensitive: drop other spellings of the same name first.
                    foreach (var x in existing)
                    {
                        if (!x.StartsWith(UserXattrPrefix, StringComparison.Ordinal)) continue;
                        var n = x[UserXattrPrefix.Length..];
                        if (!n.Equals(ea.Name, StringComparison.OrdinalIgnoreCase)) continue;
                        if (ea.Value.Length > 0 && n == ea.Name) continue;
                        if (LibC.FRemoveXattr(fd, x) != 0 && LibC.Errno is var e && e != PosixErrno.ENODATA) return NtStatusMap.FromErrno(e);
                    }
                    if (ea.Value.Length == 0) continue; // an empty value deletes the EA
                    err = LibC.FSetXattr(fd, UserXattrPrefix + ea.Name, ea.Value);
                    if (err != 0)
                        return err is PosixErrno.ERANGE or 7 /* E2BIG */ or 28 /* ENOSPC */ ? NtStatus.EaTooLarge : NtStatusMap.FromErrno(err);
                }
                return NtStatus.Success;
            });
        });
}
