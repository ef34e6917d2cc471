using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

internal static class HandlerUtil
{
    /// <summary>
    /// Resolves the FileId at body offset <paramref name="bodyOffset"/>. In a related compound an all-ones FileId means
    /// the open of the previous CREATE (MS-SMB2 3.3.5.2.7.2); if that failed, its status is returned.
    /// </summary>
    public static NtStatus TryResolveOpen(SmbConnection c, SmbRequest r, int bodyOffset, out SmbOpen open)
    {
        open = null!;
        var m = r.Span;
        var at = SmbHeader.Size + bodyOffset;
        if (!SmbReader.TryU64(m, at, out var persistent) || !SmbReader.TryU64(m, at + 8, out var vol)) return NtStatus.InvalidParameter;
        if (persistent == ulong.MaxValue && vol == ulong.MaxValue)
        {
            if (r.Header.IsRelated && r.Compound.LastOpen is { } last)
            {
                if (Volatile.Read(ref last.Closed) != 0) return NtStatus.FileClosed;
                open = last;
                open.ReplayEligible = false;
                return NtStatus.Success;
            }
            if (r.Header.IsRelated && r.Compound.LastStatus.IsError()) return r.Compound.LastStatus;
            return NtStatus.FileClosed;
        }
        if (!c.TryGetOpen(vol, out var o) || o.PersistentId != persistent || o.Tree != r.Tree || Volatile.Read(ref o.Closed) != 0)
            return NtStatus.FileClosed;
        if (SmbDialect.Is3x(c.Dialect) && r.SequencedOpen is null)
        {
            var st = o.ChannelSequence.Enter(r.Header.ChannelSequence, (r.Header.Flags & SmbFlags.ReplayOperation) != 0,
                ChannelSequenceState.IsModifying(r.Header.Command), out var counted);
            if (st != NtStatus.Success) return st;
            if (counted) r.SequencedOpen = o;
        }
        open = o;
        o.ReplayEligible = false;
        if (r.Header.IsRelated || r.Compound.LastOpen is null) r.Compound.LastOpen = o;
        return NtStatus.Success;
    }

    public static void WriteFileId(ResponseBuffer o, SmbOpen open)
    {
        o.U64(open.PersistentId);
        o.U64(open.VolatileId);
    }

    public static void WriteFileId(Span<byte> s, SmbOpen open)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, open.PersistentId);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], open.VolatileId);
    }

    /// <summary>Attributes as sent on the wire: FILE_ATTRIBUTE_NORMAL only when no other bit is set.</summary>
    public static uint WireAttributes(VfsFileInfo info)
    {
        var a = info.Attributes & ~NtFileAttributes.Normal;
        return a == 0 ? (uint)NtFileAttributes.Normal : (uint)a;
    }

    /// <summary>The share-relative parent of a path ("" for a top-level name); null for the share root itself.</summary>
    public static string? ParentPath(string path)
    {
        var p = path.TrimEnd('\\');
        if (p.Length == 0) return null;
        var i = p.LastIndexOf('\\');
        return i < 0 ? "" : p[..i];
    }

    /// <summary>The last component of a share-relative path.</summary>
    public static string NamePart(string path)
    {
        var p = path.TrimEnd('\\');
        return p[(p.LastIndexOf('\\') + 1)..];
    }

    public static bool HasAccess(SmbOpen open, AccessMask needed) => (open.Access & needed) != 0;

    /// <summary>Checks the request's CreditCharge covers its payload (MS-SMB2 3.3.5.2.5).</summary>
    public static bool ChargeCovers(SmbConnection c, SmbRequest r, long payload)
    {
        if (!c.SupportsMultiCredit) return payload <= 65536;
        var needed = payload <= 0 ? 1 : (payload - 1) / 65536 + 1;
        return r.Header.CreditCharge == 0 ? payload <= 65536 : r.Header.CreditCharge >= needed;
    }
}
