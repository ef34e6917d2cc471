using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 READ (2.2.19/20, 3.3.5.12), WRITE (2.2.21/22, 3.3.5.13), FLUSH (2.2.17/18, 3.3.5.11).</summary>
internal static class ReadWriteHandler
{
    private const byte ReadDataOffset = SmbHeader.Size + 16;
    private const uint WriteFlagWriteThrough = 0x1;

    /// <summary>
    /// Request: StructureSize(49) Padding Flags Length Offset FileId(16) MinimumCount Channel RemainingBytes
    /// ReadChannelInfoOffset ReadChannelInfoLength Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> ReadAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU32(s, b + 4, out var length);
        SmbReader.TryU64(s, b + 8, out var offset);
        SmbReader.TryU32(s, b + 32, out var minimum);
        var st = HandlerUtil.TryResolveOpen(c, r, 16, out var open);
        if (st != NtStatus.Success) return st;
        if (length > c.Server.Settings.MaxReadSize || (!c.SupportsMultiCredit && length > 65536)) return NtStatus.InvalidParameter;
        if (!HandlerUtil.ChargeCovers(c, r, length)) return NtStatus.InvalidParameter;
        if (open.IsDirectory) return NtStatus.InvalidDeviceRequest;
        if (!HandlerUtil.HasAccess(open, AccessMask.FileReadData | AccessMask.FileExecute)) return NtStatus.AccessDenied;
        if (offset > long.MaxValue || offset + length > long.MaxValue) return NtStatus.InvalidParameter;

        var io = await c.Server.FileState.CheckIoAsync(open.Key, open.Id, offset, length, write: false).ConfigureAwait(false);
        if (io != NtStatus.Success) return io;
        var o = r.Out;
        var body = o.Length;
        o.U16(17);
        o.U8(ReadDataOffset);
        o.U8(0);
        o.U32(0);
        o.U32(0);
        o.U32(0);
        var dataAt = o.Length;
        o.Ensure(dataAt + (int)length);
        var n = 0;
        if (length > 0)
        {
            var vr = await open.Tree.Vfs.Ops.ReadAsync(open.File, (long)offset, o.Array.AsMemory(dataAt, (int)length), c.Closed).ConfigureAwait(false);
            if (!vr.IsSuccess) { o.SetLength(body); return vr.Status; }
            n = vr.Value;
            if (n == 0 || n < minimum) { o.SetLength(body); return NtStatus.EndOfFile; }
        }
        else if (minimum > 0)
        {
            o.SetLength(body);
            return NtStatus.EndOfFile;
        }
        o.Advance(n);
        o.PutU32(body + 4, (uint)n);
        c.Server.Metrics.BytesRead(n);
        if (n == 0) o.U8(0);
        open.Position = (long)offset + n;
        return NtStatus.Success;
    }

    /// <summary>
    /// Request: StructureSize(49) DataOffset Length Offset FileId(16) Channel RemainingBytes WriteChannelInfoOffset
    /// WriteChannelInfoLength Flags Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> WriteAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU16(s, b + 2, out var dataOff);
        SmbReader.TryU32(s, b + 4, out var length);
        SmbReader.TryU64(s, b + 8, out var offset);
        SmbReader.TryU32(s, b + 44, out var flags);
        var st = HandlerUtil.TryResolveOpen(c, r, 16, out var open);
        if (st != NtStatus.Success) return st;
        if (length > c.Server.Settings.MaxWriteSize || (!c.SupportsMultiCredit && length > 65536)) return NtStatus.InvalidParameter;
        if (!HandlerUtil.ChargeCovers(c, r, length)) return NtStatus.InvalidParameter;
        if (!SmbReader.TrySlice(s, dataOff, length, out var dataStart)) return NtStatus.InvalidParameter;
        if (open.IsDirectory) return NtStatus.InvalidDeviceRequest;
        if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteData | AccessMask.FileAppendData)) return NtStatus.AccessDenied;

        var ops = open.Tree.Vfs.Ops;
        long at;
        if (offset == ulong.MaxValue && HandlerUtil.HasAccess(open, AccessMask.FileAppendData))
        {
            // 0xFFFFFFFFFFFFFFFF with append access: write at end of file (MS-FSA 2.1.5.3).
            var q = await ops.FstatAsync(open.File, c.Closed).ConfigureAwait(false);
            if (!q.IsSuccess) return q.Status;
            at = q.Value!.EndOfFile;
        }
        else if (offset > long.MaxValue || offset + length > long.MaxValue)
        {
            return NtStatus.InvalidParameter;
        }
        else
        {
            at = (long)offset;
        }
        var lockCheck = await c.Server.FileState.CheckIoAsync(open.Key, open.Id, (ulong)at, length, write: true).ConfigureAwait(false);
        if (lockCheck != NtStatus.Success) return lockCheck;
        var writeThrough = (flags & WriteFlagWriteThrough) != 0 || (open.Mode & (uint)CreateOptions.WriteThrough) != 0
            || open.Tree.Share.ContinuouslyAvailable;
        var n = 0;
        if (length > 0)
        {
            var vr = await ops.WriteAsync(open.File, at, r.Message.Slice(dataStart, (int)length), writeThrough, c.Closed).ConfigureAwait(false);
            if (!vr.IsSuccess) return vr.Status;
            n = vr.Value;
            open.Written = true;
        }
        c.Server.Metrics.BytesWritten(n);
        open.Position = at + n;
        var o = r.Out;
        o.U16(17);
        o.U16(0);
        o.U32((uint)n);
        o.U32(0);
        o.U16(0);
        o.U16(0);
        return NtStatus.Success;
    }

    /// <summary>Request: StructureSize(24) Reserved1 Reserved2(4) FileId(16).</summary>
    public static async ValueTask<NtStatus> FlushAsync(SmbConnection c, SmbRequest r)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        // MS-SMB2 3.3.5.11: flushing needs write or append access (directories included).
        if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteData | AccessMask.FileAppendData)) return NtStatus.AccessDenied;
        if (!open.IsDirectory)
        {
            var f = await open.Tree.Vfs.Ops.FlushAsync(open.File, c.Closed).ConfigureAwait(false);
            if (f != NtStatus.Success) return f;
        }
        r.Out.U16(4);
        r.Out.U16(0);
        return NtStatus.Success;
    }
}
