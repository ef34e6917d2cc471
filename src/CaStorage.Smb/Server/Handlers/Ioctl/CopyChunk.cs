using System.Security.Cryptography;
using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>Server-side copy: FSCTL_SRV_REQUEST_RESUME_KEY and FSCTL_SRV_COPYCHUNK(_WRITE) (MS-SMB2 3.3.5.15.5/6).</summary>
internal static partial class IoctlHandler
{
    // MS-SMB2 3.3.3 ServerSideCopyMaxNumberofChunks / MaxChunkSize / MaxDataSize: the Windows defaults, as Samba.
    internal const uint MaxChunks = 256, MaxChunkSize = 1024 * 1024, MaxTotal = 16 * 1024 * 1024;

    /// <summary>SRV_REQUEST_RESUME_KEY response: ResumeKey(24) ContextLength(4) Context.</summary>
    private static NtStatus ResumeKey(SmbConnection c, SmbRequest r, uint maxOut, ResponseBuffer o)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return st;
        if (maxOut < 32) return NtStatus.InvalidParameter;
        if (open.ResumeKey == 0)
        {
            open.ResumeKey = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | 1;
            c.Server.RegisterResumeKey(open.ResumeKey, open);
        }
        o.U64(open.ResumeKey);
        o.U64(open.PersistentId);
        o.U64(0);
        o.U32(0);
        o.U32(0);
        return NtStatus.Success;
    }

    /// <summary>
    /// MS-SMB2 3.3.5.15.6, in Samba's order (fsctl_srv_copychunk_send, vfs_offload_token_check_handles):
    /// MaxOutputResponse too small or a malformed request is STATUS_INVALID_PARAMETER; a request beyond the limits
    /// is STATUS_INVALID_PARAMETER carrying the limits; from then on every answer carries an SRV_COPYCHUNK_RESPONSE
    /// with the chunks and bytes written so far: an unknown resume key is STATUS_OBJECT_NAME_NOT_FOUND, missing
    /// access STATUS_ACCESS_DENIED, and a chunk reaching past the source's end of file STATUS_INVALID_VIEW_SIZE
    /// (Windows; the spec's SHOULD is STATUS_END_OF_FILE). Chunks are copied in order and a failed chunk writes
    /// nothing, so ChunkBytesWritten is always 0.
    /// </summary>
    private static async ValueTask<NtStatus> CopyChunkAsync(SmbConnection c, SmbRequest r, uint code, ReadOnlyMemory<byte> input, uint maxOut, ResponseBuffer o)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var target);
        if (st != NtStatus.Success) return st;
        if (maxOut < CopyChunkResponse.Size) return NtStatus.InvalidParameter;
        if (!CopyChunkCopy.TryDecode(input.Span, out var request)) return NtStatus.InvalidParameter;
        if (!WithinCopyLimits(request))
        {
            // MS-SMB2 3.3.5.15.6: the server's limits, so the client can retry within them.
            new CopyChunkResponse(MaxChunks, MaxChunkSize, MaxTotal).Write(o);
            return NtStatus.InvalidParameter;
        }
        var (status, chunks, total) = await CopyChunksAsync(c, target, code, request).ConfigureAwait(false);
        new CopyChunkResponse(chunks, 0, (uint)total).Write(o);
        return status;
    }

    internal static bool WithinCopyLimits(CopyChunkCopy request)
    {
        if (request.Chunks.Count > MaxChunks) return false;
        long total = 0;
        foreach (var chunk in request.Chunks)
        {
            if (chunk.Length == 0 || chunk.Length > MaxChunkSize) return false;
            total += chunk.Length;
        }
        return total <= MaxTotal;
    }

    private static async ValueTask<(NtStatus Status, uint Chunks, long Total)> CopyChunksAsync(SmbConnection c, SmbOpen target, uint code, CopyChunkCopy request)
    {
        if (!c.Server.TryGetResumeKey(request.ResumeKey, out var source) || Volatile.Read(ref source.Closed) != 0)
            return (NtStatus.ObjectNameNotFound, 0, 0);
        var access = CheckCopyHandles(code, source, target);
        if (access != NtStatus.Success) return (access, 0, 0);

        var ops = target.Tree.Vfs.Ops;
        var ct = c.Closed;
        uint chunks = 0;
        long total = 0;
        foreach (var chunk in request.Chunks)
        {
            // The source must hold the whole chunk: nothing of it is copied otherwise.
            var info = await source.Tree.Vfs.Ops.FstatAsync(source.File, ct).ConfigureAwait(false);
            if (!info.IsSuccess) return (info.Status, chunks, total);
            if (chunk.SourceOffset > (ulong)info.Value!.EndOfFile || chunk.Length > (ulong)info.Value.EndOfFile - chunk.SourceOffset)
                return (NtStatus.InvalidViewSize, chunks, total);
            if (chunk.TargetOffset > (ulong)(long.MaxValue - chunk.Length)) return (NtStatus.InvalidParameter, chunks, total);
            // Byte-range locks of other opens apply as to READ on the source and WRITE on the target.
            var srcLock = await c.Server.FileState.CheckIoAsync(source.Key, source.Id, chunk.SourceOffset, chunk.Length, write: false).ConfigureAwait(false);
            if (srcLock != NtStatus.Success) return (srcLock, chunks, total);
            var dstLock = await c.Server.FileState.CheckIoAsync(target.Key, target.Id, chunk.TargetOffset, chunk.Length, write: true).ConfigureAwait(false);
            if (dstLock != NtStatus.Success) return (dstLock, chunks, total);

            var res = await ops.CopyRangeAsync(source.File, (long)chunk.SourceOffset, target.File, (long)chunk.TargetOffset, chunk.Length, ct)
                .ConfigureAwait(false);
            if (!res.IsSuccess) return (res.Status, chunks, total);
            total += res.Value;
            if (res.Value < chunk.Length) return (NtStatus.InvalidViewSize, chunks, total); // the source shrank meanwhile
            chunks++;
        }
        return (NtStatus.Success, chunks, total);
    }

    /// <summary>
    /// MS-SMB2 3.3.5.15.6 access rules as Samba applies them (vfs_offload_token_check_handles): the target needs
    /// FILE_WRITE_DATA or FILE_APPEND_DATA, and FILE_READ_DATA for FSCTL_SRV_COPYCHUNK (not _WRITE); the source
    /// needs FILE_READ_DATA, or FILE_EXECUTE, which SMB2 treats as read (smb2.ioctl.copy_chunk_bad_access).
    /// Both must be files of the same user.
    /// </summary>
    private static NtStatus CheckCopyHandles(uint code, SmbOpen source, SmbOpen target)
    {
        if (source.Session.User?.Name != target.Session.User?.Name) return NtStatus.AccessDenied;
        if (source.IsDirectory || target.IsDirectory) return NtStatus.AccessDenied;
        if (!HandlerUtil.HasAccess(target, AccessMask.FileWriteData | AccessMask.FileAppendData)) return NtStatus.AccessDenied;
        if (code == FsctlSrvCopyChunk && !HandlerUtil.HasAccess(target, AccessMask.FileReadData)) return NtStatus.AccessDenied;
        if (!HandlerUtil.HasAccess(source, AccessMask.FileReadData | AccessMask.FileExecute)) return NtStatus.AccessDenied;
        return NtStatus.Success;
    }
}
