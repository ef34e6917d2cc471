using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>
/// MS-SMB2 2.2.31/2.2.32 IOCTL (3.3.5.15): the FSCTLs a file server must answer. This file decodes the request and
/// dispatches; the FSCTLs live under Ioctl/ by concern (CopyChunk, Sparse, Compression, Network), after Samba's
/// smb2_ioctl.c / smb2_ioctl_network_fs.c / vfs_default.c split.
/// </summary>
internal static partial class IoctlHandler
{
    internal const uint FsctlDfsGetReferrals = 0x00060194, FsctlDfsGetReferralsEx = 0x000601B0,
        FsctlPipeTransceive = 0x0011C017, FsctlPipePeek = 0x0011400C, FsctlPipeWait = 0x00110018,
        FsctlSrvCopyChunk = 0x001440F2, FsctlSrvCopyChunkWrite = 0x001480F2, FsctlSrvRequestResumeKey = 0x00140078,
        FsctlQueryNetworkInterfaceInfo = 0x001401FC, FsctlValidateNegotiateInfo = 0x00140204,
        FsctlSrvEnumerateSnapshots = 0x00144064, FsctlGetReparsePoint = 0x000900A8, FsctlSetSparse = 0x000900C4,
        FsctlCreateOrGetObjectId = 0x000900C0, FsctlGetObjectId = 0x0009009C, FsctlQueryAllocatedRanges = 0x000940CF,
        FsctlSetZeroData = 0x000980C8, FsctlFileLevelTrim = 0x00098208, FsctlGetCompression = 0x0009003C,
        FsctlSetCompression = 0x0009C040, FsctlGetIntegrityInformation = 0x0009027C,
        FsctlQuerySharedVirtualDiskSupport = 0x00090300;

    private const uint IsFsctl = 0x1;

    /// <summary>
    /// Request: StructureSize(57) Reserved CtlCode FileId(16) InputOffset InputCount MaxInputResponse OutputOffset
    /// OutputCount MaxOutputResponse Flags Reserved2 Buffer.
    /// Response: StructureSize(49) Reserved CtlCode FileId(16) InputOffset InputCount OutputOffset OutputCount
    /// Flags Reserved2 Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU32(s, b + 4, out var code);
        SmbReader.TryU64(s, b + 8, out var persistentId);
        SmbReader.TryU64(s, b + 16, out var volatileId);
        SmbReader.TryU32(s, b + 24, out var inOff);
        SmbReader.TryU32(s, b + 28, out var inLen);
        SmbReader.TryU32(s, b + 44, out var maxOut);
        SmbReader.TryU32(s, b + 48, out var flags);
        if (!SmbReader.TrySlice(s, inOff, inLen, out var inStart)) return NtStatus.InvalidParameter;
        if (inLen > c.Server.Settings.MaxTransactSize || maxOut > c.Server.Settings.MaxTransactSize) return NtStatus.InvalidParameter;
        if (!HandlerUtil.ChargeCovers(c, r, Math.Max(inLen, maxOut))) return NtStatus.InvalidParameter;
        // MS-SMB2 3.3.5.15: only FSCTLs are valid over SMB2.
        if ((flags & IsFsctl) == 0) return NtStatus.NotSupported;
        // MS-SMB2 3.3.5.15: the FSCTLs that take no file handle "MUST" come with FileId 0xFFFFFFFFFFFFFFFF in both
        // halves, else STATUS_INVALID_PARAMETER (checked before anything else, as Samba does since bug 14788).
        if (code is FsctlQueryNetworkInterfaceInfo or FsctlValidateNegotiateInfo or FsctlQuerySharedVirtualDiskSupport
            && (persistentId != ulong.MaxValue || volatileId != ulong.MaxValue))
        {
            return NtStatus.InvalidParameter;
        }
        var input = r.Message.Slice(inStart, (int)inLen);

        var o = r.Out;
        var body = o.Length;
        o.U16(49);
        o.U16(0);
        o.U32(code);
        var fileIdAt = o.Length;
        o.Bytes(s.Slice(b + 8, 16));
        var inOffAt = o.Length;
        o.U32(0); o.U32(0); // InputOffset, InputCount
        o.U32(0); o.U32(0); // OutputOffset, OutputCount
        o.U32(0); o.U32(0); // Flags, Reserved2
        var outStart = o.Length;

        NtStatus status;
        switch (code)
        {
            case FsctlValidateNegotiateInfo:
                status = ValidateNegotiate(c, input.Span, maxOut, o);
                break;
            case FsctlQueryNetworkInterfaceInfo:
                status = QueryInterfaces(c, input.Span, maxOut, o);
                break;
            case FsctlDfsGetReferrals:
            case FsctlDfsGetReferralsEx:
                // No DFS namespace is served: the answer Windows and Samba give without DFS.
                status = NtStatus.FsDriverRequired;
                break;
            case FsctlPipeTransceive:
            case FsctlPipePeek:
            case FsctlPipeWait:
                status = NtStatus.NotSupported;
                break;
            case FsctlSrvRequestResumeKey:
                status = ResumeKey(c, r, maxOut, o);
                break;
            case FsctlSrvCopyChunk:
            case FsctlSrvCopyChunkWrite:
                status = await CopyChunkAsync(c, r, code, input, maxOut, o).ConfigureAwait(false);
                break;
            case FsctlSetSparse:
                status = await SetSparseAsync(c, r, input).ConfigureAwait(false);
                break;
            case FsctlQueryAllocatedRanges:
                status = await QueryAllocatedRangesAsync(c, r, input, maxOut, o).ConfigureAwait(false);
                break;
            case FsctlSetZeroData:
                status = await SetZeroDataAsync(c, r, input).ConfigureAwait(false);
                break;
            case FsctlGetCompression:
                status = GetCompression(c, r, maxOut, o);
                break;
            case FsctlSetCompression:
                status = SetCompression(c, r, input.Span);
                break;
            case FsctlSrvEnumerateSnapshots:
            case FsctlQuerySharedVirtualDiskSupport: // no shared virtual disks (RSVD) are served
                status = NtStatus.InvalidDeviceRequest;
                break;
            case FsctlCreateOrGetObjectId:
            case FsctlGetObjectId:
                status = ObjectId(c, r, maxOut, o);
                break;
            case FsctlGetReparsePoint:
                status = HandlerUtil.TryResolveOpen(c, r, 8, out _) is var st && st != NtStatus.Success ? st : NtStatus.NotAReparsePoint;
                break;
            default:
                status = HandlerUtil.TryResolveOpen(c, r, 8, out _) is var st2 && st2 != NtStatus.Success ? st2 : NtStatus.InvalidDeviceRequest;
                break;
        }
        var produced = o.Length - outStart;
        // MS-SMB2 3.3.4.4: an error is sent as an ERROR response, except a copy-chunk error that carries an
        // SRV_COPYCHUNK_RESPONSE (any status, as Samba's smbd_smb2_ioctl_is_failure allows).
        if (status.IsError() && !(code is FsctlSrvCopyChunk or FsctlSrvCopyChunkWrite && produced == CopyChunkResponse.Size))
        {
            o.SetLength(body);
            return status;
        }
        o.PutU32(inOffAt, (uint)(outStart - r.ResponseStart));
        o.PutU32(inOffAt + 8, (uint)(outStart - r.ResponseStart));
        o.PutU32(inOffAt + 12, (uint)produced);
        if (r.Compound.LastOpen is { } lo && code is FsctlSrvRequestResumeKey or FsctlSrvCopyChunk or FsctlSrvCopyChunkWrite)
            HandlerUtil.WriteFileId(o.Array.AsSpan(fileIdAt, 16), lo);
        if (produced == 0) o.U8(0);
        return status;
    }
}
