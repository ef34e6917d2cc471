using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.31/2.2.32 IOCTL (3.3.5.15): the FSCTLs a file server must answer.</summary>
internal static class IoctlHandler
{
    internal const uint FsctlDfsGetReferrals = 0x00060194, FsctlDfsGetReferralsEx = 0x000601B0,
        FsctlPipeTransceive = 0x0011C017, FsctlPipePeek = 0x0011400C, FsctlPipeWait = 0x00110018,
        FsctlSrvCopyChunk = 0x001440F2, FsctlSrvCopyChunkWrite = 0x001480F2, FsctlSrvRequestResumeKey = 0x00140078,
        FsctlQueryNetworkInterfaceInfo = 0x001401FC, FsctlValidateNegotiateInfo = 0x00140204,
        FsctlSrvEnumerateSnapshots = 0x00144064, FsctlGetReparsePoint = 0x000900A8, FsctlSetSparse = 0x000900C4,
        FsctlCreateOrGetObjectId = 0x000900C0, FsctlGetObjectId = 0x0009009C, FsctlQueryAllocatedRanges = 0x000940CF,
        FsctlSetZeroData = 0x000980C8, FsctlFileLevelTrim = 0x00098208, FsctlGetCompression = 0x0009003C,
        FsctlSetCompression = 0x0009C040, FsctlGetIntegrityInformation = 0x0009027C;

    private const uint IsFsctl = 0x1;
    // Server-side copy limits (MS-SMB2 3.3.3: ServerSideCopyMaxNumberofChunks/ChunkSize/DataSize, Windows defaults).
    private const uint MaxChunks = 256, MaxChunkSize = 1024 * 1024, MaxTotal = 16 * 1024 * 1024;

    /// <summary>
    /// Request: StructureSize(57) Reserved CtlCode FileId(16) InputOffset InputCount MaxInputResponse OutputOffset
    /// OutputCount MaxOutputResponse Flags Reserved2 Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU32(s, b + 4, out var code);
        SmbReader.TryU32(s, b + 24, out var inOff);
        SmbReader.TryU32(s, b + 28, out var inLen);
        SmbReader.TryU32(s, b + 44, out var maxOut);
        SmbReader.TryU32(s, b + 48, out var flags);
        if (!SmbReader.TrySlice(s, inOff, inLen, out var inStart)) return NtStatus.InvalidParameter;
        if (inLen > c.Server.Settings.MaxTransactSize || maxOut > c.Server.Settings.MaxTransactSize) return NtStatus.InvalidParameter;
        if (!HandlerUtil.ChargeCovers(c, r, Math.Max(inLen, maxOut))) return NtStatus.InvalidParameter;
        // MS-SMB2 3.3.5.15: only FSCTLs are valid over SMB2.
        if ((flags & IsFsctl) == 0) return NtStatus.NotSupported;
        var input = s.Slice(inStart, (int)inLen);

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
                status = ValidateNegotiate(c, input, maxOut, o);
                break;
            case FsctlQueryNetworkInterfaceInfo:
                status = QueryInterfaces(c, maxOut, o);
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
                status = await CopyChunkAsync(c, r, code, maxOut, o).ConfigureAwait(false);
                break;
            case FsctlSrvEnumerateSnapshots:
                status = NtStatus.InvalidDeviceRequest;
                break;
            case FsctlGetReparsePoint:
                status = HandlerUtil.TryResolveOpen(c, r, 8, out _) is var st && st != NtStatus.Success ? st : NtStatus.NotAReparsePoint;
                break;
            default:
                status = HandlerUtil.TryResolveOpen(c, r, 8, out _) is var st2 && st2 != NtStatus.Success ? st2 : NtStatus.InvalidDeviceRequest;
                break;
        }
        var produced = o.Length - outStart;
        if (status.IsError() && !(code is FsctlSrvCopyChunk or FsctlSrvCopyChunkWrite && status == NtStatus.InvalidParameter && produced > 0))
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

    /// <summary>VALIDATE_NEGOTIATE_INFO (MS-SMB2 3.3.5.15.12): a mismatch means tampering: the connection is dropped.</summary>
    private static NtStatus ValidateNegotiate(SmbConnection c, ReadOnlySpan<byte> input, uint maxOut, ResponseBuffer o)
    {
        if (c.Dialect == SmbDialect.Smb311) throw new SmbConnectionErrorException("VALIDATE_NEGOTIATE_INFO on SMB 3.1.1");
        if (input.Length < 24) return NtStatus.InvalidParameter;
        if (maxOut < 24) return NtStatus.InvalidParameter;
        var caps = BinaryPrimitives.ReadUInt32LittleEndian(input);
        var guid = new Guid(input.Slice(4, 16));
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(input[20..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(input[22..]);
        if (input.Length < 24 + count * 2) return NtStatus.InvalidParameter;
        var dialects = new ushort[count];
        for (var i = 0; i < count; i++) dialects[i] = BinaryPrimitives.ReadUInt16LittleEndian(input[(24 + i * 2)..]);
        if (caps != c.ClientCapabilities || guid != c.ClientGuid || mode != c.ClientSecurityMode || !dialects.SequenceEqual(c.ClientDialects))
            throw new SmbConnectionErrorException("VALIDATE_NEGOTIATE_INFO mismatch");
        o.U32(c.ServerCapabilities);
        o.Guid(c.Server.Settings.ServerGuid);
        o.U16(c.ServerSecurityMode);
        o.U16(c.Dialect);
        return NtStatus.Success;
    }

    /// <summary>NETWORK_INTERFACE_INFO (MS-SMB2 2.2.32.5) for the address this connection arrived on.</summary>
    private static NtStatus QueryInterfaces(SmbConnection c, uint maxOut, ResponseBuffer o)
    {
        if (c.LocalEndPoint is not IPEndPoint ep) return NtStatus.NotSupported;
        if (maxOut < 152) return NtStatus.BufferTooSmall;
        o.U32(0);              // Next
        o.U32(1);              // IfIndex
        o.U32(0);              // Capability: neither RSS nor RDMA
        o.U32(0);
        o.U64(10_000_000_000); // LinkSpeed: 10 Gb/s
        var sa = o.Reserve(128);
        if (ep.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(sa, 0x2);
            BinaryPrimitives.WriteUInt16BigEndian(sa[2..], 0);
            ep.Address.TryWriteBytes(sa[4..], out _);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(sa, 0x17);
            ep.Address.TryWriteBytes(sa[8..], out _);
        }
        return NtStatus.Success;
    }

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

    private static NtStatus ParseChunks(SmbRequest r, out ulong key, out List<(long Source, long Target, uint Length)> chunks, out bool tooBig)
    {
        var s = r.Span;
        key = 0;
        chunks = [];
        tooBig = false;
        SmbReader.TryU32(s, SmbHeader.Size + 24, out var inOff);
        SmbReader.TryU32(s, SmbHeader.Size + 28, out var inLen);
        if (!SmbReader.TrySlice(s, inOff, inLen, out var start) || inLen < 32) return NtStatus.InvalidParameter;
        var inp = s.Slice(start, (int)inLen);
        key = BinaryPrimitives.ReadUInt64LittleEndian(inp);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(inp[24..]);
        if (count > MaxChunks) { tooBig = true; return NtStatus.Success; }
        if (inp.Length < 32 + (long)count * 24) return NtStatus.InvalidParameter;
        long total = 0;
        for (var i = 0; i < count; i++)
        {
            var ch = inp[(32 + i * 24)..];
            var so = BinaryPrimitives.ReadInt64LittleEndian(ch);
            var to = BinaryPrimitives.ReadInt64LittleEndian(ch[8..]);
            var len = BinaryPrimitives.ReadUInt32LittleEndian(ch[16..]);
            if (len > MaxChunkSize || len == 0) tooBig = true;
            if (so < 0 || to < 0) return NtStatus.InvalidParameter;
            total += len;
            chunks.Add((so, to, len));
        }
        if (total > MaxTotal) tooBig = true;
        return NtStatus.Success;
    }

    /// <summary>
    /// SRV_COPYCHUNK_COPY: SourceKey(24) ChunkCount Reserved Chunks[SourceOffset TargetOffset Length Reserved];
    /// response SRV_COPYCHUNK_RESPONSE: ChunksWritten ChunkBytesWritten TotalBytesWritten.
    /// </summary>
    private static async ValueTask<NtStatus> CopyChunkAsync(SmbConnection c, SmbRequest r, uint code, uint maxOut, ResponseBuffer o)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var target);
        if (st != NtStatus.Success) return st;
        if (maxOut < 12) return NtStatus.InvalidParameter;
        // Target access: COPYCHUNK needs read+write on the target, COPYCHUNK_WRITE write only (MS-SMB2 3.3.5.15.6).
        if (!HandlerUtil.HasAccess(target, AccessMask.FileWriteData | AccessMask.FileAppendData)) return NtStatus.AccessDenied;
        if (code == FsctlSrvCopyChunk && !HandlerUtil.HasAccess(target, AccessMask.FileReadData)) return NtStatus.AccessDenied;
        var pst = ParseChunks(r, out var key, out var chunkList, out var tooBig);
        if (pst != NtStatus.Success) return pst;
        if (tooBig)
        {
            // The limits are returned with STATUS_INVALID_PARAMETER so the client can retry within them.
            o.U32(MaxChunks);
            o.U32(MaxChunkSize);
            o.U32(MaxTotal);
            return NtStatus.InvalidParameter;
        }
        if (!c.Server.TryGetResumeKey(key, out var source) || Volatile.Read(ref source.Closed) != 0) return NtStatus.ObjectNameNotFound;
        if (source.Session.User?.Name != target.Session.User?.Name) return NtStatus.AccessDenied;
        if (!HandlerUtil.HasAccess(source, AccessMask.FileReadData)) return NtStatus.AccessDenied;
        if (source.IsDirectory || target.IsDirectory) return NtStatus.InvalidDeviceRequest;

        uint chunks = 0, lastChunkBytes = 0;
        long written = 0;
        var ops = target.Tree.Vfs.Ops;
        foreach (var (so, to, len) in chunkList)
        {
            var res = await ops.CopyRangeAsync(source.File, so, target.File, to, len, c.Closed).ConfigureAwait(false);
            if (!res.IsSuccess) return res.Status;
            if (res.Value < len)
            {
                // Reading past the end of the source fails the chunk (Windows: STATUS_INVALID_VIEW_SIZE; Samba: END_OF_FILE).
                return NtStatus.InvalidViewSize;
            }
            chunks++;
            lastChunkBytes = (uint)res.Value;
            written += res.Value;
        }
        o.U32(chunks);
        o.U32(lastChunkBytes);
        o.U32((uint)written);
        return NtStatus.Success;
    }
}
