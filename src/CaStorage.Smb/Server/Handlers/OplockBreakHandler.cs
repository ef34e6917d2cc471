using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.State;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.24/2.2.25 OPLOCK_BREAK acknowledgements (3.3.5.22): oplock (24 bytes) or lease (36 bytes).</summary>
internal static class OplockBreakHandler
{
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU16(s, b, out var structureSize);
        if (structureSize == 24 && s.Length >= b + 24) return await OplockAckAsync(c, r).ConfigureAwait(false);
        if (structureSize == 36 && s.Length >= b + 36) return await LeaseAckAsync(c, r).ConfigureAwait(false);
        return NtStatus.InvalidParameter;
    }

    /// <summary>Oplock acknowledgement: StructureSize(24) OplockLevel Reserved Reserved2(4) FileId(16).</summary>
    private static async ValueTask<NtStatus> OplockAckAsync(SmbConnection c, SmbRequest r)
    {
        if (r.Session is null || !r.Session.TryGetTree(r.Header.TreeId, out var tree)) return NtStatus.NetworkNameDeleted;
        r.Tree = tree;
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        SmbReader.TryU8(r.Span, SmbHeader.Size + 2, out var level);
        if (level is not (OplockLevel.None or OplockLevel.LevelII)) return NtStatus.InvalidParameter;
        var (status, granted) = await c.Server.FileState.AckOplockAsync(open.Key, open.Id, level).ConfigureAwait(false);
        if (status != NtStatus.Success) return status;
        open.OplockLevel = granted;
        var o = r.Out;
        o.U16(24);
        o.U8(granted);
        o.U8(0);
        o.U32(0);
        HandlerUtil.WriteFileId(o, open);
        return NtStatus.Success;
    }

    /// <summary>Lease acknowledgement: StructureSize(36) Reserved Flags LeaseKey(16) LeaseState LeaseDuration(8).</summary>
    private static async ValueTask<NtStatus> LeaseAckAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        var key = new Guid(s.Slice(b + 8, 16));
        var state = (LeaseState)BinaryPrimitives.ReadUInt32LittleEndian(s[(b + 24)..]);
        if ((state & ~LeaseState.All) != 0) return NtStatus.InvalidParameter;
        var status = await c.Server.FileState.AckLeaseAsync(new LeaseId(c.ClientGuid, key), state).ConfigureAwait(false);
        if (status != NtStatus.Success) return status;
        var o = r.Out;
        o.U16(36);
        o.U16(0);
        o.U32(0);
        o.Guid(key);
        o.U32((uint)state);
        o.U64(0);
        return NtStatus.Success;
    }
}
