using System.Buffers.Binary;
using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Protocol.Info;
using CaStorage.State.Notify;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.39/2.2.40 SET_INFO (3.3.5.21).</summary>
internal static class SetInfoHandler
{
    /// <summary>
    /// Request: StructureSize(33) InfoType FileInfoClass BufferLength BufferOffset Reserved AdditionalInformation FileId(16) Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU8(s, b + 2, out var infoType);
        SmbReader.TryU8(s, b + 3, out var cls);
        SmbReader.TryU32(s, b + 4, out var len);
        SmbReader.TryU16(s, b + 8, out var off);
        SmbReader.TryU32(s, b + 12, out var additional);
        var st = HandlerUtil.TryResolveOpen(c, r, 16, out var open);
        if (st != NtStatus.Success) return st;
        if (len > c.Server.Settings.MaxTransactSize) return NtStatus.InvalidParameter;
        if (!SmbReader.TrySlice(s, off, len, out var start)) return NtStatus.InvalidParameter;
        var data = r.Message.Slice(start, (int)len);
        var status = infoType switch
        {
            QueryInfoHandler.InfoFile => await SetFileAsync(c, open, (FileInfoClass)cls, data).ConfigureAwait(false),
            QueryInfoHandler.InfoFileSystem => NtStatus.AccessDenied,
            QueryInfoHandler.InfoSecurity => await SetSecurityAsync(c, open, additional, data).ConfigureAwait(false),
            QueryInfoHandler.InfoQuota => NtStatus.NotSupported,
            _ => NtStatus.InvalidParameter,
        };
        if (status != NtStatus.Success) return status;
        if (infoType == QueryInfoHandler.InfoFile && ModifiedFilter((FileInfoClass)cls) is var f && f != NotifyFilter.None)
            c.Server.Notify.Report(open.Tree.Share.Name, open.File.Path, NotifyAction.Modified, f);
        else if (infoType == QueryInfoHandler.InfoSecurity)
            c.Server.Notify.Report(open.Tree.Share.Name, open.File.Path, NotifyAction.Modified, NotifyFilter.Security);
        r.Out.U16(2);
        return NtStatus.Success;
    }

    private static NotifyFilter ModifiedFilter(FileInfoClass cls) => cls switch
    {
        FileInfoClass.Basic => NotifyFilter.Attributes | NotifyFilter.LastWrite | NotifyFilter.LastAccess | NotifyFilter.Creation,
        FileInfoClass.EndOfFile or FileInfoClass.Allocation => NotifyFilter.Size,
        FileInfoClass.FullEa => NotifyFilter.Ea,
        _ => NotifyFilter.None,
    };

    private static async ValueTask<NtStatus> SetFileAsync(SmbConnection c, SmbOpen open, FileInfoClass cls, ReadOnlyMemory<byte> data)
    {
        var d = data.Span;
        var ops = open.Tree.Vfs.Ops;
        var ct = c.Closed;
        switch (cls)
        {
            case FileInfoClass.Basic:
                {
                    if (d.Length < 36) return NtStatus.InfoLengthMismatch;
                    if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteAttributes)) return NtStatus.AccessDenied;
                    static long? T(long v) => v is 0 or -1 ? null : v; // 0: unchanged; -1: stop updating (treated as unchanged)
                    var creation = BinaryPrimitives.ReadInt64LittleEndian(d);
                    var access = BinaryPrimitives.ReadInt64LittleEndian(d[8..]);
                    var write = BinaryPrimitives.ReadInt64LittleEndian(d[16..]);
                    var change = BinaryPrimitives.ReadInt64LittleEndian(d[24..]);
                    var attrs = BinaryPrimitives.ReadUInt32LittleEndian(d[32..]);
                    if (creation < -2 || access < -2 || write < -2 || change < -2) return NtStatus.InvalidParameter;
                    NtFileAttributes? a = null;
                    if (attrs != 0)
                    {
                        var na = (NtFileAttributes)attrs;
                        // MS-FSA 2.1.5.14.2: FILE_ATTRIBUTE_DIRECTORY on a file, or TEMPORARY on a directory, is invalid.
                        if (!open.IsDirectory && (na & NtFileAttributes.Directory) != 0) return NtStatus.InvalidParameter;
                        if (open.IsDirectory && (na & NtFileAttributes.Temporary) != 0) return NtStatus.InvalidParameter;
                        a = na & ~NtFileAttributes.Normal;
                        // FILE_ATTRIBUTE_NORMAL alone clears every attribute (MS-FSCC 2.6): the VFS's Normal, not "unchanged".
                        if (a == NtFileAttributes.None) a = NtFileAttributes.Normal;
                        if (open.IsDirectory) a |= NtFileAttributes.Directory;
                    }
                    return await ops.SetBasicInfoAsync(open.File, new VfsBasicInfo(T(creation), T(access), T(write), T(change), a), ct).ConfigureAwait(false);
                }
            case FileInfoClass.EndOfFile:
                {
                    if (d.Length < 8) return NtStatus.InfoLengthMismatch;
                    if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteData)) return NtStatus.AccessDenied;
                    if (open.IsDirectory) return NtStatus.InvalidParameter;
                    var eof = BinaryPrimitives.ReadInt64LittleEndian(d);
                    if (eof < 0) return NtStatus.InvalidParameter;
                    // A size change is a write: it ends read caching (smb2.oplock.batch11).
                    await c.Server.FileState.BreakReadCachingAsync(open.Key, open.Id).ConfigureAwait(false);
                    return await ops.SetEndOfFileAsync(open.File, eof, ct).ConfigureAwait(false);
                }
            case FileInfoClass.Allocation:
                {
                    if (d.Length < 8) return NtStatus.InfoLengthMismatch;
                    if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteData)) return NtStatus.AccessDenied;
                    if (open.IsDirectory) return NtStatus.InvalidParameter;
                    var size = BinaryPrimitives.ReadInt64LittleEndian(d);
                    if (size < 0) return NtStatus.InvalidParameter;
                    await c.Server.FileState.BreakReadCachingAsync(open.Key, open.Id).ConfigureAwait(false);
                    return await ops.SetAllocationSizeAsync(open.File, size, ct).ConfigureAwait(false);
                }
            case FileInfoClass.Position:
                {
                    if (d.Length < 8) return NtStatus.InfoLengthMismatch;
                    var pos = BinaryPrimitives.ReadInt64LittleEndian(d);
                    if (pos < 0) return NtStatus.InvalidParameter;
                    open.Position = pos;
                    return NtStatus.Success;
                }
            case FileInfoClass.Mode:
                {
                    if (d.Length < 4) return NtStatus.InfoLengthMismatch;
                    var mode = BinaryPrimitives.ReadUInt32LittleEndian(d);
                    // MS-FSCC 2.4.26: only these bits; both synchronous flags at once is invalid.
                    const uint valid = 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x1000;
                    if ((mode & ~valid) != 0 || (mode & 0x30) == 0x30) return NtStatus.InvalidParameter;
                    open.Mode = mode;
                    return NtStatus.Success;
                }
            case FileInfoClass.Disposition:
                {
                    if (d.Length < 1) return NtStatus.InfoLengthMismatch;
                    if (!HandlerUtil.HasAccess(open, AccessMask.Delete)) return NtStatus.AccessDenied;
                    var delete = d[0] != 0;
                    if (delete)
                    {
                        var q = await ops.FstatAsync(open.File, ct).ConfigureAwait(false);
                        if (!q.IsSuccess) return q.Status;
                        if ((q.Value!.Attributes & NtFileAttributes.ReadOnly) != 0) return NtStatus.CannotDelete;
                        if (open.IsDirectory)
                        {
                            var list = await ops.EnumerateAsync(open.File, ct).ConfigureAwait(false);
                            if (list.IsSuccess && list.Value!.Count > 0) return NtStatus.DirectoryNotEmpty;
                        }
                    }
                    var set = await c.Server.FileState.SetDeletePendingAsync(open.Key, open.Id, delete).ConfigureAwait(false);
                    if (set == NtStatus.Success && delete && open.IsDirectory) c.Server.Notify.DirectoryDeletePending(open.Tree.Share.Name, open.File.Path);
                    return set;
                }
            case FileInfoClass.Rename:
                return await RenameAsync(c, open, data).ConfigureAwait(false);
            case FileInfoClass.FullEa:
                return await SetEasAsync(c, open, data).ConfigureAwait(false);
            case FileInfoClass.Link:
            case FileInfoClass.ShortName:
            case FileInfoClass.ValidDataLength:
                return NtStatus.NotSupported;
            default:
                return NtStatus.InvalidInfoClass;
        }
    }

    private static bool TryParseRename(ReadOnlySpan<byte> d, out bool replace, out string target, out NtStatus error)
    {
        replace = false;
        target = "";
        error = NtStatus.Success;
        if (d.Length < 20) { error = NtStatus.InfoLengthMismatch; return false; }
        replace = d[0] != 0;
        var root = BinaryPrimitives.ReadUInt64LittleEndian(d[8..]);
        var nameLen = BinaryPrimitives.ReadUInt32LittleEndian(d[16..]);
        if (root != 0 || nameLen == 0 || 20 + (long)nameLen > d.Length) { error = NtStatus.InvalidParameter; return false; }
        if (!SmbReader.TryUtf16(d.Slice(20, (int)nameLen), out target)) { error = NtStatus.ObjectNameInvalid; return false; }
        target = target.TrimStart('\\');
        if (target.Length == 0) { error = NtStatus.InvalidParameter; return false; }
        return true;
    }

    /// <summary>
    /// FILE_RENAME_INFORMATION_TYPE_2 (MS-FSCC 2.4.37.2): ReplaceIfExists Reserved(7) RootDirectory(8) FileNameLength FileName.
    /// </summary>
    private static async ValueTask<NtStatus> RenameAsync(SmbConnection c, SmbOpen open, ReadOnlyMemory<byte> data)
    {
        if (!TryParseRename(data.Span, out var replace, out var target, out var perr)) return perr;
        if (!HandlerUtil.HasAccess(open, AccessMask.Delete)) return NtStatus.AccessDenied;
        var tree = open.Tree;
        var ops = tree.Vfs.Ops;
        var ct = c.Closed;
        // Windows: other opens of the file must share delete.
        var chk = await c.Server.FileState.CheckRenameAsync(open.Key, open.Id).ConfigureAwait(false);
        if (chk != NtStatus.Success) return chk;
        // The rename acts on the parent directory as an open with DELETE access sharing read and write would (Windows,
        // Samba): a parent open that holds DELETE access or does not share delete makes it a sharing violation.
        var parentPath = HandlerUtil.ParentPath(open.File.Path) ?? "";
        var parent = await ops.StatAsync(tree.Vfs, parentPath, ct).ConfigureAwait(false);
        if (parent.IsSuccess)
        {
            var pst = await c.Server.FileState.ProbeShareAccessAsync(await FileKeys.OfPathAsync(c.Server, tree, parentPath, parent.Value!.FileId, ct).ConfigureAwait(false),
                AccessMask.Delete, ShareAccess.Read | ShareAccess.Write).ConfigureAwait(false);
            if (pst != NtStatus.Success) return pst;
        }
        if (string.Equals(target, open.File.Path, StringComparison.OrdinalIgnoreCase) && !string.Equals(target, open.File.Path, StringComparison.Ordinal))
        {
            // A case-only rename of the same file.
        }
        else
        {
            var existing = await ops.StatAsync(tree.Vfs, target, ct).ConfigureAwait(false);
            if (existing.IsSuccess && existing.Value!.FileId != open.File.FileId)
            {
                if (!replace) return NtStatus.ObjectNameCollision;
                if (existing.Value.IsDirectory) return NtStatus.AccessDenied;
                // A target that is open elsewhere cannot be replaced.
                var busy = await c.Server.FileState.CheckReplaceAsync(await FileKeys.OfPathAsync(c.Server, tree, target, existing.Value.FileId, ct).ConfigureAwait(false))
                    .ConfigureAwait(false);
                if (busy != NtStatus.Success) return busy;
            }
            else if (existing.IsSuccess)
            {
                return NtStatus.Success; // renaming onto itself
            }
        }
        if (open.IsDirectory)
        {
            // A directory with open files below it cannot be renamed (Windows: STATUS_ACCESS_DENIED).
            var prefix = open.File.Path.Length == 0 ? "" : open.File.Path + "\\";
            foreach (var other in c.Opens)
                if (other != open && other.Tree.Share == tree.Share && other.File.Path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                    return NtStatus.AccessDenied;
        }
        var oldPath = open.File.Path;
        var renamed = await ops.RenameAsync(open.File, target, replace, ct).ConfigureAwait(false);
        if (renamed == NtStatus.Success)
        {
            var kind = open.IsDirectory ? NotifyFilter.DirName : NotifyFilter.FileName;
            if (string.Equals(HandlerUtil.ParentPath(oldPath), HandlerUtil.ParentPath(target), StringComparison.OrdinalIgnoreCase))
            {
                c.Server.Notify.Report(tree.Share.Name, oldPath, NotifyAction.RenamedOldName, kind);
                c.Server.Notify.Report(tree.Share.Name, target, NotifyAction.RenamedNewName, kind);
            }
            else
            {
                c.Server.Notify.Report(tree.Share.Name, oldPath, NotifyAction.Removed, kind);
                c.Server.Notify.Report(tree.Share.Name, target, NotifyAction.Added, kind);
            }
        }
        return renamed;
    }

    /// <summary>FILE_FULL_EA_INFORMATION list (MS-FSCC 2.4.15).</summary>
    private static async ValueTask<NtStatus> SetEasAsync(SmbConnection c, SmbOpen open, ReadOnlyMemory<byte> data)
    {
        if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteEa)) return NtStatus.AccessDenied;
        var st = ParseEas(data.Span, out var eas);
        if (st != NtStatus.Success) return st;
        return await open.Tree.Vfs.Ops.SetEasAsync(open.File, eas, c.Closed).ConfigureAwait(false);
    }

    /// <summary>Parses a FILE_FULL_EA_INFORMATION list (SET_INFO FileFullEaInformation, the CREATE ExtA context).</summary>
    internal static NtStatus ParseEas(ReadOnlySpan<byte> d, out List<VfsEa> eas)
    {
        eas = new List<VfsEa>();
        var at = 0;
        while (true)
        {
            if (at + 8 > d.Length) return NtStatus.EaCorruptError;
            var next = BinaryPrimitives.ReadUInt32LittleEndian(d[at..]);
            var flags = d[at + 4];
            var nameLen = d[at + 5];
            var valueLen = BinaryPrimitives.ReadUInt16LittleEndian(d[(at + 6)..]);
            if (at + 8 + nameLen + 1 + valueLen > d.Length || nameLen == 0) return NtStatus.EaCorruptError;
            var name = Encoding.ASCII.GetString(d.Slice(at + 8, nameLen));
            if (name.AsSpan().IndexOfAny("\"*/:<>?\\|+,;=[]") >= 0) return NtStatus.InvalidEaName;
            eas.Add(new VfsEa(name, d.Slice(at + 8 + nameLen + 1, valueLen).ToArray(), flags));
            if (next == 0) break;
            at += (int)next;
        }
        return NtStatus.Success;
    }

    private static async ValueTask<NtStatus> SetSecurityAsync(SmbConnection c, SmbOpen open, uint additional, ReadOnlyMemory<byte> data)
    {
        if ((additional & (0x1 | 0x2)) != 0 && !HandlerUtil.HasAccess(open, AccessMask.WriteOwner)) return NtStatus.AccessDenied;
        if ((additional & 0x4) != 0 && !HandlerUtil.HasAccess(open, AccessMask.WriteDac)) return NtStatus.AccessDenied;
        if ((additional & 0x8) != 0) return NtStatus.AccessDenied;
        return await open.Tree.Vfs.Ops.SetSecurityAsync(open.File, additional, data, c.Closed).ConfigureAwait(false);
    }
}
