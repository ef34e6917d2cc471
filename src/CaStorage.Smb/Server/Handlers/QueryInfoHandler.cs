using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Protocol.Info;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.37/2.2.38 QUERY_INFO (3.3.5.20): file, file-system and security information.</summary>
internal static class QueryInfoHandler
{
    internal const byte InfoFile = 1, InfoFileSystem = 2, InfoSecurity = 3, InfoQuota = 4;

    /// <summary>
    /// Request: StructureSize(41) InfoType FileInfoClass OutputBufferLength InputBufferOffset Reserved InputBufferLength
    /// AdditionalInformation Flags FileId(16) Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var s = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU8(s, b + 2, out var infoType);
        SmbReader.TryU8(s, b + 3, out var cls);
        SmbReader.TryU32(s, b + 4, out var outLen);
        SmbReader.TryU32(s, b + 16, out var additional);
        var st = HandlerUtil.TryResolveOpen(c, r, 24, out var open);
        if (st != NtStatus.Success) return st;
        if (outLen > c.Server.Settings.MaxTransactSize) return NtStatus.InvalidParameter;
        if (!HandlerUtil.ChargeCovers(c, r, outLen)) return NtStatus.InvalidParameter;

        var o = r.Out;
        var body = o.Length;
        o.U16(9);
        o.U16(0);
        o.U32(0);
        var dataStart = o.Length;
        (NtStatus Status, bool _) res = infoType switch
        {
            InfoFile => await QueryFileAsync(c, r, open, (FileInfoClass)cls).ConfigureAwait(false),
            InfoFileSystem => await QueryFsAsync(c, open, (FsInfoClass)cls, o).ConfigureAwait(false),
            InfoSecurity => await QuerySecurityAsync(c, r, open, additional, outLen).ConfigureAwait(false),
            InfoQuota => (NtStatus.NotSupported, false),
            _ => (NtStatus.InvalidParameter, false),
        };
        if (res.Status != NtStatus.Success) { o.SetLength(body); return res.Status; }
        var produced = o.Length - dataStart;
        var status = NtStatus.Success;
        if (produced > outLen)
        {
            // Below the structure's fixed part: STATUS_INFO_LENGTH_MISMATCH; otherwise the data is truncated with
            // STATUS_BUFFER_OVERFLOW (MS-SMB2 3.3.5.20.1, MS-FSA 2.1.5.12).
            var fixedPart = infoType == InfoFile ? FixedSize((FileInfoClass)cls) : infoType == InfoFileSystem ? FixedSize((FsInfoClass)cls) : int.MaxValue;
            if (outLen < fixedPart) { o.SetLength(body); return NtStatus.InfoLengthMismatch; }
            o.SetLength(dataStart + (int)outLen);
            produced = (int)outLen;
            status = NtStatus.BufferOverflow;
        }
        o.PutU16(body + 2, (ushort)(produced == 0 ? 0 : dataStart - r.ResponseStart));
        o.PutU32(body + 4, (uint)produced);
        if (produced == 0) o.U8(0);
        return status;
    }

    /// <summary>Size of each class's fixed part (what a buffer must hold before truncation is allowed).</summary>
    private static int FixedSize(FileInfoClass c) => c switch
    {
        FileInfoClass.Basic => 40, FileInfoClass.Standard => 24, FileInfoClass.Internal => 8, FileInfoClass.Ea => 4,
        FileInfoClass.Access => 4, FileInfoClass.Position => 8, FileInfoClass.Mode => 4, FileInfoClass.Alignment => 4,
        FileInfoClass.All => 104, FileInfoClass.AlternateName => 8, FileInfoClass.Stream => 32, FileInfoClass.Compression => 16,
        FileInfoClass.NetworkOpen => 56, FileInfoClass.AttributeTag => 8, FileInfoClass.NormalizedName => 8, FileInfoClass.Id => 24,
        FileInfoClass.FullEa => 12,
        _ => int.MaxValue,
    };

    private static int FixedSize(FsInfoClass c) => c switch
    {
        FsInfoClass.Volume => 24, FsInfoClass.Size => 24, FsInfoClass.Device => 8, FsInfoClass.Attribute => 16,
        FsInfoClass.Control => 48, FsInfoClass.FullSize => 32, FsInfoClass.ObjectId => 64, FsInfoClass.SectorSize => 28,
        _ => int.MaxValue,
    };

    private static async ValueTask<(NtStatus, bool)> QueryFileAsync(SmbConnection c, SmbRequest r, SmbOpen open, FileInfoClass cls)
    {
        var o = r.Out;
        var ops = open.Tree.Vfs.Ops;
        var readAttrs = HandlerUtil.HasAccess(open, AccessMask.FileReadAttributes);
        switch (cls)
        {
            case FileInfoClass.Basic:
            case FileInfoClass.Standard:
            case FileInfoClass.Internal:
            case FileInfoClass.NetworkOpen:
            case FileInfoClass.AttributeTag:
            case FileInfoClass.All:
            case FileInfoClass.Compression:
            case FileInfoClass.Id:
            case FileInfoClass.Stream:
            case FileInfoClass.NormalizedName:
            case FileInfoClass.AlternateName:
                break;
            case FileInfoClass.Ea:
                o.U32(0);
                return (NtStatus.Success, false);
            case FileInfoClass.Access:
                o.U32((uint)open.Access);
                return (NtStatus.Success, false);
            case FileInfoClass.Position:
                o.I64(open.Position);
                return (NtStatus.Success, false);
            case FileInfoClass.Mode:
                o.U32(open.Mode);
                return (NtStatus.Success, false);
            case FileInfoClass.Alignment:
                o.U32(0);
                return (NtStatus.Success, false);
            case FileInfoClass.FullEa:
                return (await FullEaAsync(c, open, o).ConfigureAwait(false), true);
            default:
                return (NtStatus.InvalidInfoClass, false);
        }
        // MS-FSA 2.1.5.12: only the attribute-bearing classes need FILE_READ_ATTRIBUTES.
        if (!readAttrs && cls is FileInfoClass.Basic or FileInfoClass.All or FileInfoClass.NetworkOpen or FileInfoClass.AttributeTag)
            return (NtStatus.AccessDenied, false);
        var q = await ops.FstatAsync(open.File, c.Closed).ConfigureAwait(false);
        if (!q.IsSuccess) return (q.Status, false);
        var i = q.Value!;
        switch (cls)
        {
            case FileInfoClass.Basic: InfoEncoder.Basic(o, i); break;
            case FileInfoClass.Standard:
                InfoEncoder.Standard(o, i, await c.Server.FileState.IsDeletePendingAsync(open.Key).ConfigureAwait(false));
                break;
            case FileInfoClass.Internal: o.U64(i.FileId); break;
            case FileInfoClass.NetworkOpen: InfoEncoder.NetworkOpen(o, i); break;
            case FileInfoClass.AttributeTag: o.U32(HandlerUtil.WireAttributes(i)); o.U32(0); break;
            case FileInfoClass.Compression: o.I64(i.EndOfFile); o.U16(0); o.U8(0); o.U8(0); o.U8(0); o.Reserve(3); break;
            case FileInfoClass.Id:
                o.U64(open.Tree.Share.VolumeId);
                o.U64(i.FileId);
                o.U64(0);
                break;
            case FileInfoClass.AlternateName:
                {
                    var shortName = ShortNames.Of(HandlerUtil.NamePart(open.File.Path));
                    o.U32((uint)Encoding.Unicode.GetByteCount(shortName));
                    o.Utf16(shortName);
                    return (NtStatus.Success, true);
                }
            case FileInfoClass.NormalizedName:
                if (c.Dialect < SmbDialect.Smb311) return (NtStatus.NotSupported, false);
                {
                    var n = open.File.Path;
                    o.U32((uint)Encoding.Unicode.GetByteCount(n));
                    o.Utf16(n);
                }
                return (NtStatus.Success, true);
            case FileInfoClass.Stream:
                {
                    var streams = await ops.ListStreamsAsync(open.File, c.Closed).ConfigureAwait(false);
                    if (!streams.IsSuccess) return (streams.Status, false);
                    var prev = -1;
                    foreach (var sInfo in streams.Value!)
                    {
                        if (prev >= 0) { r.Out.Align(8); r.Out.PutU32(prev, (uint)(r.Out.Length - prev)); }
                        prev = r.Out.Length;
                        o.U32(0);
                        o.U32((uint)Encoding.Unicode.GetByteCount(sInfo.Name));
                        o.I64(sInfo.Size);
                        o.I64(sInfo.AllocationSize);
                        o.Utf16(sInfo.Name);
                    }
                    return (NtStatus.Success, true);
                }
            case FileInfoClass.All:
                {
                    InfoEncoder.Basic(o, i);
                    InfoEncoder.Standard(o, i, await c.Server.FileState.IsDeletePendingAsync(open.Key).ConfigureAwait(false));
                    o.U64(i.FileId);        // Internal
                    o.U32(0);               // Ea
                    o.U32((uint)open.Access);
                    o.I64(open.Position);
                    o.U32(open.Mode);
                    o.U32(0);               // Alignment
                    var name = "\\" + open.File.Path;
                    o.U32((uint)Encoding.Unicode.GetByteCount(name));
                    o.Utf16(name);
                    return (NtStatus.Success, true);
                }
        }
        return (NtStatus.Success, false);
    }

    private static async ValueTask<NtStatus> FullEaAsync(SmbConnection c, SmbOpen open, ResponseBuffer o)
    {
        if (!HandlerUtil.HasAccess(open, AccessMask.FileReadEa)) return NtStatus.AccessDenied;
        var eas = await open.Tree.Vfs.Ops.GetEasAsync(open.File, c.Closed).ConfigureAwait(false);
        if (!eas.IsSuccess) return eas.Status;
        // No EAs: an empty list with success, as Samba answers (smb2.getinfo.getinfo_access).
        var prev = -1;
        foreach (var ea in eas.Value!)
        {
            if (prev >= 0) { o.Align(4); o.PutU32(prev, (uint)(o.Length - prev)); }
            prev = o.Length;
            var name = Encoding.ASCII.GetBytes(ea.Name);
            o.U32(0);
            o.U8(ea.Flags);
            o.U8((byte)name.Length);
            o.U16((ushort)ea.Value.Length);
            o.Bytes(name);
            o.U8(0);
            o.Bytes(ea.Value);
        }
        return NtStatus.Success;
    }

    private static async ValueTask<(NtStatus, bool)> QueryFsAsync(SmbConnection c, SmbOpen open, FsInfoClass cls, ResponseBuffer o)
    {
        var fs = await open.Tree.Vfs.Ops.GetFsInfoAsync(open.Tree.Vfs, c.Closed).ConfigureAwait(false);
        if (!fs.IsSuccess) return (fs.Status, false);
        var f = fs.Value!;
        var unit = (long)f.BytesPerSector * f.SectorsPerUnit;
        switch (cls)
        {
            case FsInfoClass.Volume:
                o.I64(f.VolumeCreationTime);
                o.U32(f.VolumeSerial);
                o.U32((uint)Encoding.Unicode.GetByteCount(f.VolumeLabel));
                o.U8(0);
                o.U8(0);
                o.Utf16(f.VolumeLabel);
                return (NtStatus.Success, true);
            case FsInfoClass.Size:
                o.I64(f.TotalBytes / unit);
                o.I64(f.AvailableBytes / unit);
                o.U32((uint)f.SectorsPerUnit);
                o.U32((uint)f.BytesPerSector);
                return (NtStatus.Success, false);
            case FsInfoClass.FullSize:
                o.I64(f.TotalBytes / unit);
                o.I64(f.AvailableBytes / unit);
                o.I64(f.FreeBytes / unit);
                o.U32((uint)f.SectorsPerUnit);
                o.U32((uint)f.BytesPerSector);
                return (NtStatus.Success, false);
            case FsInfoClass.Device:
                o.U32(0x7);  // FILE_DEVICE_DISK
                o.U32(0x20); // FILE_DEVICE_IS_MOUNTED
                return (NtStatus.Success, false);
            case FsInfoClass.Attribute:
                {
                    // Case-preserving, case-sensitive search off, Unicode names, persistent ACLs, sparse files, named streams off.
                    const uint attrs = 0x1 | 0x2 | 0x4 | 0x8 | 0x40;
                    var name = f.FileSystemName;
                    o.U32(attrs);
                    o.U32(255);
                    o.U32((uint)Encoding.Unicode.GetByteCount(name));
                    o.Utf16(name);
                    return (NtStatus.Success, true);
                }
            case FsInfoClass.ObjectId:
                o.Reserve(64);
                return (NtStatus.Success, false);
            case FsInfoClass.SectorSize:
                o.U32((uint)f.BytesPerSector);
                o.U32((uint)f.BytesPerSector);
                o.U32((uint)f.BytesPerSector);
                o.U32((uint)f.BytesPerSector);
                o.U32(0x3); // aligned device, partition aligned
                o.U32(0);
                o.U32(0);
                return (NtStatus.Success, false);
            case FsInfoClass.Control:
                // FILE_FS_CONTROL_INFORMATION: no quotas are enforced; thresholds and limits "none" (all ones).
                o.I64(0);
                o.I64(0);
                o.I64(0);
                o.I64(-1);
                o.I64(-1);
                o.U32(0);
                o.U32(0);
                return (NtStatus.Success, false);
            default:
                return (NtStatus.InvalidInfoClass, false);
        }
    }

    private static async ValueTask<(NtStatus, bool)> QuerySecurityAsync(SmbConnection c, SmbRequest r, SmbOpen open, uint additional, uint outLen)
    {
        if ((additional & 0x8) != 0 && !HandlerUtil.HasAccess(open, AccessMask.AccessSystemSecurity)) return (NtStatus.AccessDenied, false);
        if (!HandlerUtil.HasAccess(open, AccessMask.ReadControl)) return (NtStatus.AccessDenied, false);
        var sd = await open.Tree.Vfs.Ops.GetSecurityAsync(open.File, additional, c.Closed).ConfigureAwait(false);
        if (!sd.IsSuccess) return (sd.Status, false);
        if (sd.Value!.Length > outLen)
        {
            // MS-SMB2 3.3.5.20.3: too small a buffer gets STATUS_BUFFER_TOO_SMALL with the needed size as error data.
            r.ErrorData = BitConverter.GetBytes((uint)sd.Value.Length);
            return (NtStatus.BufferTooSmall, false);
        }
        r.Out.Bytes(sd.Value);
        return (NtStatus.Success, false);
    }
}
