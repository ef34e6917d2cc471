using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>
/// Sparse files: FSCTL_SET_SPARSE, FSCTL_QUERY_ALLOCATED_RANGES and FSCTL_SET_ZERO_DATA (MS-FSCC 2.3.64/2.3.40/2.3.67,
/// MS-FSA 2.1.5.10.34/22/37). Access rules follow Samba's vfs_default (file_set_sparse, fsctl_qar, fsctl_zero_data)
/// as the smb2.ioctl.sparse_perms torture test pins them down.
/// </summary>
internal static partial class IoctlHandler
{
    /// <summary>
    /// FSCTL_SET_SPARSE: no buffer, or a SetSparse byte other than 0, sets the flag; 0 clears it; bytes after the
    /// first are ignored. A directory is STATUS_INVALID_PARAMETER; the handle needs FILE_WRITE_DATA,
    /// FILE_APPEND_DATA or FILE_WRITE_ATTRIBUTES.
    /// </summary>
    private static async ValueTask<NtStatus> SetSparseAsync(SmbConnection c, SmbRequest r, ReadOnlyMemory<byte> input)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        if (open.IsDirectory) return NtStatus.InvalidParameter;
        if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteData | AccessMask.FileAppendData | AccessMask.FileWriteAttributes))
            return NtStatus.AccessDenied;
        return await open.Tree.Vfs.Ops.SetSparseAsync(open.File, SetSparseBuffer.Decode(input.Span), c.Closed).ConfigureAwait(false);
    }

    /// <summary>
    /// FSCTL_QUERY_ALLOCATED_RANGES: needs FILE_READ_DATA (not FILE_EXECUTE: Samba's CHECK_READ_IOCTL). The input is
    /// one FILE_ALLOCATED_RANGE_BUFFER (more bytes are ignored, fewer are STATUS_INVALID_PARAMETER, as are negative
    /// values or an end past MAXLONGLONG). The output is the allocated ranges; when MaxOutputResponse cannot hold
    /// even one, STATUS_BUFFER_TOO_SMALL, and when it cannot hold them all, as many as fit with
    /// STATUS_BUFFER_OVERFLOW (MS-FSA 2.1.5.10.22).
    /// </summary>
    private static async ValueTask<NtStatus> QueryAllocatedRangesAsync(SmbConnection c, SmbRequest r, ReadOnlyMemory<byte> input, uint maxOut, ResponseBuffer o)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        if (!HandlerUtil.HasAccess(open, AccessMask.FileReadData)) return NtStatus.AccessDenied;
        if (!AllocatedRangeBuffer.TryDecode(input.Span, out var query)) return NtStatus.InvalidParameter;
        if (query.FileOffset < 0 || query.Length < 0 || query.FileOffset > long.MaxValue - query.Length) return NtStatus.InvalidParameter;
        if (open.IsDirectory) return NtStatus.InvalidParameter;
        var res = await open.Tree.Vfs.Ops.QueryAllocatedRangesAsync(open.File, query.FileOffset, query.Length, c.Closed).ConfigureAwait(false);
        if (!res.IsSuccess) return res.Status;
        var ranges = res.Value!;
        if (ranges.Count == 0) return NtStatus.Success;
        var fit = (int)Math.Min(ranges.Count, maxOut / AllocatedRangeBuffer.Size);
        if (fit == 0) return NtStatus.BufferTooSmall;
        for (var i = 0; i < fit; i++) new AllocatedRangeBuffer(ranges[i].Offset, ranges[i].Length).Write(o);
        return fit < ranges.Count ? NtStatus.BufferOverflow : NtStatus.Success;
    }

    /// <summary>
    /// FSCTL_SET_ZERO_DATA: needs FILE_WRITE_DATA (FILE_APPEND_DATA or FILE_WRITE_ATTRIBUTES are not enough). The input
    /// is a FILE_ZERO_DATA_INFORMATION; FileOffset past BeyondFinalZero, or negative values, are
    /// STATUS_INVALID_PARAMETER; an empty range succeeds. The file size never changes.
    /// </summary>
    private static async ValueTask<NtStatus> SetZeroDataAsync(SmbConnection c, SmbRequest r, ReadOnlyMemory<byte> input)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        if (!HandlerUtil.HasAccess(open, AccessMask.FileWriteData)) return NtStatus.AccessDenied;
        if (!ZeroDataInformation.TryDecode(input.Span, out var zero)) return NtStatus.InvalidParameter;
        if (zero.FileOffset < 0 || zero.BeyondFinalZero < zero.FileOffset) return NtStatus.InvalidParameter;
        if (open.IsDirectory) return NtStatus.InvalidParameter;
        var length = zero.BeyondFinalZero - zero.FileOffset;
        if (length == 0) return NtStatus.Success;
        var locked = await c.Server.FileState.CheckIoAsync(open.Key, open.Id, (ulong)zero.FileOffset, (ulong)length, write: true).ConfigureAwait(false);
        if (locked != NtStatus.Success) return locked;
        return await open.Tree.Vfs.Ops.ZeroRangeAsync(open.File, zero.FileOffset, length, c.Closed).ConfigureAwait(false);
    }
}
