using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.State.Notify;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.35/2.2.36 CHANGE_NOTIFY (3.3.5.19): asynchronous, fed by the node's change hub.</summary>
internal static class ChangeNotifyHandler
{
    private const ushort WatchTree = 0x0001;
    private const uint ValidFilter = 0xFFF;

    /// <summary>Request: StructureSize(32) Flags OutputBufferLength FileId(16) CompletionFilter Reserved.</summary>
    public static ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU16(s, b + 2, out var flags);
        SmbReader.TryU32(s, b + 4, out var outLen);
        SmbReader.TryU32(s, b + 24, out var filter);
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return ValueTask.FromResult(st);
        if (outLen > c.Server.Settings.MaxTransactSize) return ValueTask.FromResult(NtStatus.InvalidParameter);
        if (!open.IsDirectory) return ValueTask.FromResult(NtStatus.InvalidParameter);
        if (!HandlerUtil.HasAccess(open, AccessMask.FileReadData)) return ValueTask.FromResult(NtStatus.AccessDenied);
        if ((filter & ValidFilter) == 0 || (filter & ~ValidFilter) != 0) return ValueTask.FromResult(NtStatus.InvalidParameter);

        var watch = open.Watch;
        if (watch is null)
        {
            watch = c.Server.Notify.Watch(open.Tree.Share.Name, open.File.Path, (flags & WatchTree) != 0, (NotifyFilter)filter, outLen);
            open.Watch = watch;
        }
        else
        {
            watch.Filter = (NotifyFilter)filter;
        }
        // In a cluster, peers forward a share's changes only to nodes that watch it: they hear of a share newly
        // watched here before the wait is answered pending.
        var told = c.Server.Notify.WhenTold(watch.Share);
        return told.IsCompleted ? ValueTask.FromResult(GoWait(r, watch, outLen)) : GoWaitAsync(r, watch, outLen, told);
    }

    private static async ValueTask<NtStatus> GoWaitAsync(SmbRequest r, NotifyWatch watch, uint outLen, Task told)
    {
        await told.ConfigureAwait(false);
        return GoWait(r, watch, outLen);
    }

    /// <summary>Always asynchronous, as Windows: an interim STATUS_PENDING, then the changes (or cancel/cleanup).</summary>
    private static NtStatus GoWait(SmbRequest r, NotifyWatch watch, uint outLen)
    {
        var limit = Math.Min(outLen, watch.FirstBufferLength);
        return r.GoAsync(async (o, ct) => Complete(o, await watch.WaitAsync(ct).ConfigureAwait(false), limit));
    }

    private static NtStatus Complete(ResponseBuffer o, NotifyBatch batch, uint outLen)
    {
        if (batch.DeletePending) return NtStatus.DeletePending;
        if (batch.Closed && batch.Events.Count == 0) return NtStatus.NotifyCleanup;
        if (batch.Overflow) return NtStatus.NotifyEnumDir;
        return Encode(o, batch.Events, outLen);
    }

    /// <summary>Response: StructureSize(9) OutputBufferOffset OutputBufferLength, FILE_NOTIFY_INFORMATION entries.</summary>
    private static NtStatus Encode(ResponseBuffer o, IReadOnlyList<NotifyEvent> events, uint outLen)
    {
        var headerStart = o.Length - SmbHeader.Size;
        var body = o.Length;
        o.U16(9);
        o.U16(0);
        o.U32(0);
        var dataStart = o.Length;
        var prev = -1;
        foreach (var e in events)
        {
            if (prev >= 0) { o.Align(4); o.PutU32(prev, (uint)(o.Length - prev)); }
            prev = o.Length;
            o.U32(0);
            o.U32((uint)e.Action);
            o.U32((uint)Encoding.Unicode.GetByteCount(e.Name));
            o.Utf16(e.Name);
        }
        var len = o.Length - dataStart;
        if (len > outLen)
        {
            // Too much for the client's buffer: it must re-enumerate (MS-SMB2 3.3.5.19).
            o.SetLength(body);
            return NtStatus.NotifyEnumDir;
        }
        o.PutU16(body + 2, (ushort)(dataStart - headerStart));
        o.PutU32(body + 4, (uint)len);
        return NtStatus.Success;
    }
}
