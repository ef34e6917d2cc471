using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.State;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.26/2.2.27 LOCK (3.3.5.14). Locks live in the file actor; blocking requests wait there.</summary>
internal static class LockHandler
{
    private const uint Shared = 0x1, Exclusive = 0x2, Unlock = 0x4, FailImmediately = 0x10;
    private const int ElementSize = 24;

    /// <summary>
    /// Request: StructureSize(48) LockCount LockSequence(4) FileId(16) Locks[LockCount] of
    /// Offset(8) Length(8) Flags(4) Reserved(4).
    /// </summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU16(s, b + 2, out var count);
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        if (count == 0) return NtStatus.InvalidParameter;
        if (s.Length < b + 24 + count * ElementSize) return NtStatus.InvalidParameter;
        if (open.IsDirectory) return NtStatus.InvalidParameter;

        var state = c.Server.FileState;
        var elements = s.Slice(b + 24, count * ElementSize).ToArray();
        // Lock replay detection (MS-SMB2 3.3.5.14): SMB 3.x with durable or persistent opens, or with multichannel
        // (a request may be replayed on another channel); resilient handles are not offered.
        SmbReader.TryU32(s, b + 4, out var rawSequence);
        var replayable = SmbDialect.Is3x(c.Dialect) && (open.Durable is not null || (c.ServerCapabilities & NegotiateHandler.CapMultiChannel) != 0);
        var sequence = replayable ? LockSequence.From(rawSequence) : null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(elements.AsSpan(16)) == Unlock)
        {
            // Unlocks apply one by one, in order, and stop at the first failure; earlier ones stay undone
            // (smb2.lock.multiple-unlock). A lock element after unlocks is invalid, once the unlocks before it ran.
            for (var i = 0; i < count; i++)
            {
                var el = elements.AsMemory(i * ElementSize, ElementSize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(el.Span[16..]) != Unlock) return NtStatus.InvalidParameter;
                var range = new LockRange(BinaryPrimitives.ReadUInt64LittleEndian(el.Span), BinaryPrimitives.ReadUInt64LittleEndian(el.Span[8..]), false);
                // The sequence goes with the first element: a replayed request is recognised before anything is undone.
                var u = await state.UnlockAsync(open.Key, open.Id, [range], i == 0 ? sequence : null).ConfigureAwait(false);
                if (u != NtStatus.Success) return u;
                Unmirror(open, range);
            }
            WriteResponse(r.Out);
            return NtStatus.Success;
        }
        var parse = Parse(elements, count, out var ranges, out var blocking);
        if (parse != NtStatus.Success) return parse;
        // Windows needs read or write access on the handle to lock.
        if (!HandlerUtil.HasAccess(open, AccessMask.FileReadData | AccessMask.FileWriteData | AccessMask.FileAppendData))
            return NtStatus.AccessDenied;

        var cts = new CancellationTokenSource();
        var pending = state.LockAsync(open.Key, open.Id, ranges, failImmediately: !blocking, cts.Token, sequence);
        // A fail-immediately lock never waits in the actor, only for the state store to commit a durable open's locks:
        // it is answered synchronously (Windows sends no interim response for it).
        if (pending.IsCompleted || !blocking)
        {
            cts.Dispose();
            var done = await pending.ConfigureAwait(false);
            if (done != NtStatus.Success) return done;
            Mirror(open, ranges);
            WriteResponse(r.Out);
            return NtStatus.Success;
        }
        // A blocking lock that cannot be granted now: STATUS_PENDING, then the outcome (granted, cancelled, closed).
        var task = pending.AsTask();
        return r.GoAsync(async (o, ct) =>
        {
            using (cts)
            using (ct.Register(() => cts.Cancel()))
            {
                var result = await task.ConfigureAwait(false);
                if (result == NtStatus.Success)
                {
                    Mirror(open, ranges);
                    WriteResponse(o);
                }
                return result;
            }
        });
    }

    /// <summary>Element rules as Windows and Samba apply them (smbd_smb2_lock_send).</summary>
    private static NtStatus Parse(ReadOnlySpan<byte> e, int count, out List<LockRange> ranges, out bool blocking)
    {
        ranges = new List<LockRange>(count);
        var firstFlags = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
        blocking = firstFlags is Shared or Exclusive;
        for (var i = 0; i < count; i++)
        {
            var el = e.Slice(i * ElementSize, ElementSize);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(el);
            var length = BinaryPrimitives.ReadUInt64LittleEndian(el[8..]);
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(el[16..]);
            switch (flags)
            {
                case Shared:
                case Exclusive:
                    // A waiting lock may only be the first element of a lock request.
                    if (i > 0) return NtStatus.InvalidParameter;
                    break;
                case Shared | FailImmediately:
                case Exclusive | FailImmediately:
                    break;
                default:
                    // Includes UNLOCK mixed into a lock request: nothing of it is applied.
                    return NtStatus.InvalidParameter;
            }
            var range = new LockRange(offset, length, (flags & Exclusive) != 0);
            // MS-FSA 2.1.5.7: a range past 2^64 is STATUS_INVALID_LOCK_RANGE.
            if (!range.IsValid) return NtStatus.InvalidLockRange;
            ranges.Add(range);
        }
        return NtStatus.Success;
    }

    // The locks an open holds, kept beside the state tier's: a new shard owner learns them from here after a failover.
    private static void Mirror(SmbOpen open, IReadOnlyList<LockRange> ranges)
    {
        lock (open.LockMirror) open.LockMirror.AddRange(ranges);
    }

    private static void Unmirror(SmbOpen open, LockRange range)
    {
        lock (open.LockMirror)
        {
            var i = open.LockMirror.FindIndex(l => l.Offset == range.Offset && l.Length == range.Length);
            if (i >= 0) open.LockMirror.RemoveAt(i);
        }
    }

    private static void WriteResponse(ResponseBuffer o)
    {
        o.U16(4);
        o.U16(0);
    }
}
