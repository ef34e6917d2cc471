using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Protocol.Info;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.33/2.2.34 QUERY_DIRECTORY (3.3.5.18).</summary>
internal static class QueryDirectoryHandler
{
    // SMB2_INDEX_SPECIFIED (0x04) is accepted and ignored: NTFS has no stable file indexes either.
    private const byte RestartScans = 0x01, ReturnSingleEntry = 0x02, Reopen = 0x10;

    /// <summary>
    /// Request: StructureSize(33) FileInformationClass Flags FileIndex FileId(16) FileNameOffset FileNameLength
    /// OutputBufferLength Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU8(s, b + 2, out var cls);
        SmbReader.TryU8(s, b + 3, out var flags);
        SmbReader.TryU16(s, b + 24, out var nameOff);
        SmbReader.TryU16(s, b + 26, out var nameLen);
        SmbReader.TryU32(s, b + 28, out var outLen);
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        var infoClass = (FileInfoClass)cls;
        var fixedSize = InfoEncoder.DirectoryEntryFixedSize(infoClass);
        if (fixedSize == 0) return NtStatus.InvalidInfoClass;
        if (outLen > c.Server.Settings.MaxTransactSize) return NtStatus.InvalidParameter;
        if (!HandlerUtil.ChargeCovers(c, r, outLen)) return NtStatus.InvalidParameter;
        if (!open.IsDirectory) return NtStatus.InvalidParameter;
        if (!HandlerUtil.HasAccess(open, AccessMask.FileReadData)) return NtStatus.AccessDenied;
        if (!SmbReader.TrySlice(s, nameOff, nameLen, out var nameStart)) return NtStatus.InvalidParameter;
        if (!SmbReader.TryUtf16(s.Slice(nameStart, nameLen), out var pattern)) return NtStatus.ObjectNameInvalid;
        if (nameLen == 0) return NtStatus.InvalidParameter;
        if (pattern.AsSpan().IndexOfAny('\\', '/') >= 0) return NtStatus.ObjectNameInvalid;

        var ops = open.Tree.Vfs.Ops;
        var cursor = open.Cursor;
        if (cursor is null || (flags & (RestartScans | Reopen)) != 0)
        {
            var list = await ops.EnumerateAsync(open.File, c.Closed).ConfigureAwait(false);
            if (!list.IsSuccess) return list.Status;
            var entries = new List<VfsDirEntry>(list.Value!.Count + 2);
            var self = await ops.FstatAsync(open.File, c.Closed).ConfigureAwait(false);
            if (self.IsSuccess)
            {
                entries.Add(new VfsDirEntry(".", self.Value!));
                var parentPath = HandlerUtil.ParentPath(open.File.Path);
                var parent = parentPath is null ? self : await ops.StatAsync(open.Tree.Vfs, parentPath, c.Closed).ConfigureAwait(false);
                entries.Add(new VfsDirEntry("..", parent.IsSuccess ? parent.Value! : self.Value!));
            }
            entries.AddRange(list.Value!);
            cursor = new DirectoryCursor { Entries = entries, Pattern = pattern, SnapshotChangeTime = self.IsSuccess ? Math.Max(self.Value!.ChangeTime, self.Value.LastWriteTime) : 0 };
            open.Cursor = cursor;
        }
        else
        {
            // Entries removed since the snapshot must not be returned (smb2.dir.fixed): when the directory changed,
            // drop the remaining entries that are gone. New entries are not added (Windows does not promise them).
            var self = await ops.FstatAsync(open.File, c.Closed).ConfigureAwait(false);
            var now = self.IsSuccess ? Math.Max(self.Value!.ChangeTime, self.Value.LastWriteTime) : 0;
            if (now != cursor.SnapshotChangeTime && cursor.Index < cursor.Entries.Count)
            {
                var list = await ops.EnumerateAsync(open.File, c.Closed).ConfigureAwait(false);
                if (list.IsSuccess)
                {
                    var present = new HashSet<string>(list.Value!.Select(e => e.Name), StringComparer.Ordinal) { ".", ".." };
                    var kept = cursor.Entries.Take(cursor.Index).Concat(cursor.Entries.Skip(cursor.Index).Where(e => present.Contains(e.Name))).ToList();
                    cursor.Entries.Clear();
                    cursor.Entries.AddRange(kept);
                }
                cursor.SnapshotChangeTime = now;
            }
        }

        var o = r.Out;
        var body = o.Length;
        o.U16(9);
        o.U16(0);
        o.U32(0);
        var dataStart = o.Length;
        var prev = -1;
        var lastEnd = dataStart;
        var count = 0;
        var pat = cursor.Pattern;
        while (cursor.Index < cursor.Entries.Count)
        {
            var e = cursor.Entries[cursor.Index];
            if (!WildcardMatcher.IsMatch(e.Name, pat)) { cursor.Index++; continue; }
            if (prev >= 0) o.Align(8);
            var entryStart = o.Length;
            InfoEncoder.DirectoryEntry(o, infoClass, e.Name, e.Info);
            if (o.Length - dataStart > outLen)
            {
                // Does not fit: keep it for the next call; an empty buffer that cannot hold one entry is an error.
                o.SetLength(lastEnd);
                if (count == 0)
                {
                    o.SetLength(body);
                    return NtStatus.InfoLengthMismatch;
                }
                break;
            }
            if (prev >= 0) o.PutU32(prev, (uint)(entryStart - prev));
            prev = entryStart;
            lastEnd = o.Length;
            count++;
            cursor.Index++;
            if ((flags & ReturnSingleEntry) != 0) break;
        }
        if (count == 0)
        {
            o.SetLength(body);
            var first = !cursor.Started;
            cursor.Started = true;
            return first ? NtStatus.NoSuchFile : NtStatus.NoMoreFiles;
        }
        cursor.Started = true;
        o.SetLength(lastEnd);
        o.PutU16(body + 2, (ushort)(dataStart - r.ResponseStart));
        o.PutU32(body + 4, (uint)(o.Length - dataStart));
        return NtStatus.Success;
    }

}
