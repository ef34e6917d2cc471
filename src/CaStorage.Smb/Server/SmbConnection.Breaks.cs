using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;
using CaStorage.State;

namespace CaStorage.Smb.Server;

/// <summary>Server-initiated OPLOCK_BREAK notifications (MS-SMB2 2.2.23.1 oplock, 2.2.23.2 lease; 3.3.4.6/3.3.4.7).</summary>
internal sealed partial class SmbConnection
{
    private const ulong NotificationMessageId = ulong.MaxValue;

    /// <summary>Oplock break: StructureSize(24) OplockLevel Reserved Reserved2(4) FileId(16).</summary>
    internal void SendOplockBreak(OpenId id, byte newLevel)
    {
        var open = Opens.FirstOrDefault(o => o.Id == id);
        if (open is null) return;
        open.OplockLevel = newLevel;
        var output = NewNotification(out var start);
        try
        {
            output.U16(24);
            output.U8(newLevel);
            output.U8(0);
            output.U32(0);
            output.U64(open.PersistentId);
            output.U64(open.VolatileId);
            FinishNotification(output, start, open.Session);
        }
        finally
        {
            output.Dispose();
        }
    }

    /// <summary>
    /// Lease break: StructureSize(44) NewEpoch Flags LeaseKey(16) CurrentLeaseState NewLeaseState BreakReason
    /// AccessMaskHint ShareMaskHint. Sent with SessionId 0 (it belongs to the client, not a session).
    /// </summary>
    internal void SendLeaseBreak(LeaseId lease, LeaseState current, LeaseState newState, ushort newEpoch, bool ackRequired, int version)
    {
        // The opens under the lease hold what the break leaves them (told to a new shard owner after a failover).
        foreach (var o in Opens)
            if (o.Lease == lease && o.LeaseGrant is { } g) o.LeaseGrant = g with { State = newState, Epoch = newEpoch };
        var output = NewNotification(out var start);
        try
        {
            output.U16(44);
            output.U16(version == 2 ? newEpoch : (ushort)0);
            output.U32(ackRequired ? 0x1u : 0u);
            output.Guid(lease.Key);
            output.U32((uint)current);
            output.U32((uint)newState);
            output.U32(0);
            output.U32(0);
            output.U32(0);
            FinishNotification(output, start, null);
        }
        finally
        {
            output.Dispose();
        }
    }

    private static ResponseBuffer NewNotification(out int start)
    {
        var output = new ResponseBuffer(256);
        output.Reserve(4);
        output.AlignmentOrigin = 4;
        start = output.Length;
        output.Reserve(SmbHeader.Size);
        return output;
    }

    private void FinishNotification(ResponseBuffer output, int start, SmbSession? session)
    {
        var h = new SmbHeader
        {
            Command = SmbCommand.OplockBreak,
            MessageId = NotificationMessageId,
            Flags = SmbFlags.ServerToRedir,
            SessionId = session?.Id ?? 0,
        };
        // Encrypted when the session requires it; otherwise signed when the session signs (3.3.4.6).
        if (session is { Encryption: not null } s && s.EncryptData)
        {
            h.Write(output.Array.AsSpan(start, SmbHeader.Size), NtStatus.Success);
            SendEncrypted(output, s, [start]);
            return;
        }
        var sign = session is { CanSign: true, SigningRequired: true };
        if (sign) h.Flags |= SmbFlags.Signed;
        h.Write(output.Array.AsSpan(start, SmbHeader.Size), NtStatus.Success);
        if (sign) SmbSigning.Sign(SigningAlgorithm, session!.SigningKey!, output.Array.AsSpan(start, output.Length - start));
        Send(output);
    }
}
