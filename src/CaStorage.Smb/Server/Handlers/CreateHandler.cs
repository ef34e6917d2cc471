using System.Buffers.Binary;
using System.Security.Cryptography;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Protocol.Info;
using CaStorage.State;
using CaStorage.State.Notify;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.13/2.2.14 CREATE (3.3.5.9): validation, VFS open, share modes in the state tier, contexts.</summary>
internal static class CreateHandler
{
    private const uint ValidAttributes = 0x00007FB7 | 0x00020000;
    // FILE_RESERVE_OPFILTER is refused; FILE_OPEN_FOR_FREE_SPACE_QUERY is ignored, as Windows and Samba do (Word sends it).
    private const CreateOptions NotSupportedOptions = CreateOptions.ReserveOpfilter;
    private const uint ValidOptionsMask = 0x00FFFFFF;

    internal sealed record CreateContext(string Name, int DataStart, int DataLength);

    /// <summary>
    /// Request: StructureSize(57) SecurityFlags RequestedOplockLevel ImpersonationLevel SmbCreateFlags(8) Reserved(8)
    /// DesiredAccess FileAttributes ShareAccess CreateDisposition CreateOptions NameOffset NameLength
    /// CreateContextsOffset CreateContextsLength Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var m = r.Message;
        var s = m.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU32(s, b + 4, out var impersonation);
        SmbReader.TryU32(s, b + 24, out var desired);
        SmbReader.TryU32(s, b + 28, out var fileAttributes);
        SmbReader.TryU32(s, b + 32, out var shareAccess);
        SmbReader.TryU32(s, b + 36, out var dispositionRaw);
        SmbReader.TryU32(s, b + 40, out var optionsRaw);
        SmbReader.TryU16(s, b + 44, out var nameOff);
        SmbReader.TryU16(s, b + 46, out var nameLen);
        SmbReader.TryU32(s, b + 48, out var ctxOff);
        SmbReader.TryU32(s, b + 52, out var ctxLen);

        // MS-SMB2 3.3.5.9 validation, in the order Windows applies it.
        if (impersonation > 3) return NtStatus.BadImpersonationLevel;
        var options = (CreateOptions)optionsRaw;
        if ((options & NotSupportedOptions) != 0) return NtStatus.NotSupported;
        if ((optionsRaw & ~ValidOptionsMask) != 0) return NtStatus.InvalidParameter;
        if (dispositionRaw > 5) return NtStatus.InvalidParameter;
        var disposition = (CreateDisposition)dispositionRaw;
        if ((fileAttributes & ~ValidAttributes) != 0) return NtStatus.InvalidParameter;
        if ((shareAccess & ~7u) != 0) return NtStatus.InvalidParameter;
        if ((desired & ~(uint)AccessMask.ValidCreateMask) != 0) return NtStatus.AccessDenied;
        if ((options & CreateOptions.DirectoryFile) != 0 && (options & CreateOptions.NonDirectoryFile) != 0) return NtStatus.InvalidParameter;
        if ((nameLen & 1) != 0) return NtStatus.InvalidParameter;
        if (!SmbReader.TrySlice(s, nameOff, nameLen, out var nameStart)) return NtStatus.InvalidParameter;
        if (!SmbReader.TryUtf16(s.Slice(nameStart, nameLen), out var name)) return NtStatus.ObjectNameInvalid;
        // MS-SMB2 3.3.5.9: a name beginning with a separator is invalid.
        if (name.StartsWith('\\')) return NtStatus.InvalidParameter;

        var contexts = new List<CreateContext>();
        if (ctxLen > 0)
        {
            var cst = ParseContexts(s, ctxOff, ctxLen, contexts);
            if (cst != NtStatus.Success) return cst;
        }

        var tree = r.Tree!;
        if (tree.IsPipe) return NtStatus.ObjectNameNotFound; // named pipes (DCE/RPC) are not served yet

        var access = (AccessMask)desired;
        if ((access & AccessMask.AccessSystemSecurity) != 0) return NtStatus.PrivilegeNotHeld;
        access = CreateAccess.Requested(access); // MAXIMUM_ALLOWED is resolved against the file's descriptor by the VFS
        var isDirRequest = (options & CreateOptions.DirectoryFile) != 0;
        if ((options & CreateOptions.DeleteOnClose) != 0 && (access & (AccessMask.Delete | AccessMask.MaximumAllowed)) == 0) return NtStatus.InvalidParameter;
        if (isDirRequest && disposition is not (CreateDisposition.Create or CreateDisposition.Open or CreateDisposition.OpenIf))
            return NtStatus.InvalidParameter;
        // The share's own limit: nothing beyond the tree's maximal access.
        if (!CreateAccess.WithinShare(tree, access)) return NtStatus.AccessDenied;
        if (tree.Share.ReadOnly && disposition is not (CreateDisposition.Open or CreateDisposition.OpenIf)) return NtStatus.MediaWriteProtected;

        long allocation = 0;
        foreach (var ctx in contexts)
        {
            if (ctx.Name == "AlSi" && ctx.DataLength >= 8) allocation = BinaryPrimitives.ReadInt64LittleEndian(s.Slice(ctx.DataStart, 8));
        }
        var sdStatus = CreateAccess.CreatorDescriptor(s, contexts, out var creatorDescriptor);
        if (sdStatus != NtStatus.Success) return sdStatus;

        var ops = tree.Vfs.Ops;
        var ct = c.Closed;
        var vr = await ops.OpenAsync(tree.Vfs, new VfsOpenRequest
        {
            Path = name,
            Disposition = disposition,
            Options = options,
            Access = access,
            Attributes = (NtFileAttributes)fileAttributes,
            AllocationSize = allocation,
            CreatorDescriptor = creatorDescriptor,
        }, ct).ConfigureAwait(false);
        if (!vr.IsSuccess) return vr.Status;
        var (file, action) = vr.Value!;
        var grantStatus = CreateAccess.Granted(tree, access, options, vr.Value!, out access);
        if (grantStatus != NtStatus.Success)
        {
            await ops.CloseAsync(file).ConfigureAwait(false);
            return grantStatus;
        }

        var info0 = await ops.FstatAsync(file, ct).ConfigureAwait(false);
        if (!info0.IsSuccess)
        {
            await ops.CloseAsync(file).ConfigureAwait(false);
            return info0.Status;
        }
        if ((options & CreateOptions.DeleteOnClose) != 0 && !file.IsDirectory
            && (info0.Value!.Attributes & NtFileAttributes.ReadOnly) != 0)
        {
            await ops.CloseAsync(file).ConfigureAwait(false);
            return NtStatus.CannotDelete;
        }

        var key = new FileKey(tree.Share.Name, file.FileId);
        var openId = NewOpenId();
        var truncates = action is CreateAction.Overwritten or CreateAction.Superseded;
        var decision = await c.Server.FileState.OpenAsync(new OpenRequest
        {
            File = key,
            Open = openId,
            Access = access,
            Share = (ShareAccess)shareAccess,
            IsDirectory = file.IsDirectory,
            DeleteOnClose = (options & CreateOptions.DeleteOnClose) != 0,
            Truncates = truncates,
            Owner = c.Id,
        }, ct).ConfigureAwait(false);
        if (decision.Outcome != OpenOutcome.Granted)
        {
            await ops.CloseAsync(file).ConfigureAwait(false);
            return decision.Status;
        }

        var open = new SmbOpen(c.NextVolatileId(), openId, tree, file, key, access)
        {
            DeleteOnClose = (options & CreateOptions.DeleteOnClose) != 0,
            MaximalAccess = CreateAccess.Maximal(tree, vr.Value!),
            Mode = (uint)(options & (CreateOptions.WriteThrough | CreateOptions.SequentialOnly | CreateOptions.NoIntermediateBuffering
                | CreateOptions.SynchronousIoAlert | CreateOptions.SynchronousIoNonAlert | CreateOptions.DeleteOnClose)),
        };
        c.AddOpen(open);
        r.Compound.LastOpen = open;

        var info = info0.Value!;
        if (truncates)
        {
            // Overwrite/supersede happen only after the share-mode check succeeded (MS-FSA 2.1.5.1.2.2).
            var t = await ops.SetEndOfFileAsync(file, 0, ct).ConfigureAwait(false);
            if (t == NtStatus.Success)
            {
                var attrs = (NtFileAttributes)fileAttributes | NtFileAttributes.Archive;
                await ops.SetBasicInfoAsync(file, new VfsBasicInfo(null, null, null, null, attrs), ct).ConfigureAwait(false);
            }
            var q = await ops.FstatAsync(file, ct).ConfigureAwait(false);
            if (q.IsSuccess) info = q.Value!;
        }

        if (action == CreateAction.Created)
            c.Server.Notify.Report(tree.Share.Name, file.Path, NotifyAction.Added, file.IsDirectory ? NotifyFilter.DirName : NotifyFilter.FileName);
        else if (truncates)
            c.Server.Notify.Report(tree.Share.Name, file.Path, NotifyAction.Modified, NotifyFilter.Size | NotifyFilter.LastWrite | NotifyFilter.Attributes);
        WriteResponse(c, r, open, action, info, contexts);
        return NtStatus.Success;
    }

    private static OpenId NewOpenId()
    {
        Span<byte> b = stackalloc byte[8];
        RandomNumberGenerator.Fill(b);
        var v = BinaryPrimitives.ReadUInt64LittleEndian(b) & 0x7FFF_FFFF_FFFF_FFFFUL;
        return new OpenId(v == 0 ? 1 : v);
    }

    /// <summary>MS-SMB2 2.2.13.2 SMB2_CREATE_CONTEXT chain: Next NameOffset NameLength Reserved DataOffset DataLength.</summary>
    internal static NtStatus ParseContexts(ReadOnlySpan<byte> s, uint offset, uint length, List<CreateContext> result)
    {
        if ((long)offset + length > s.Length || offset < SmbHeader.Size) return NtStatus.InvalidParameter;
        long at = offset;
        long end = offset + length;
        while (true)
        {
            if (at + 16 > end) return NtStatus.InvalidParameter;
            var c = s.Slice((int)at, (int)(end - at));
            var next = BinaryPrimitives.ReadUInt32LittleEndian(c);
            var nameOff = BinaryPrimitives.ReadUInt16LittleEndian(c[4..]);
            var nameLen = BinaryPrimitives.ReadUInt16LittleEndian(c[6..]);
            var dataOff = BinaryPrimitives.ReadUInt16LittleEndian(c[10..]);
            var dataLen = BinaryPrimitives.ReadUInt32LittleEndian(c[12..]);
            var limit = next == 0 ? c.Length : (long)next;
            if (next != 0 && (next % 8 != 0 || next > c.Length)) return NtStatus.InvalidParameter;
            if (nameLen == 0 || nameOff + (long)nameLen > limit) return NtStatus.InvalidParameter;
            if (dataLen > 0 && (dataOff + (long)dataLen > limit || dataOff < nameOff + nameLen)) return NtStatus.InvalidParameter;
            var name = System.Text.Encoding.ASCII.GetString(c.Slice(nameOff, nameLen));
            result.Add(new CreateContext(name, (int)at + dataOff, (int)dataLen));
            if (result.Count > 64) return NtStatus.InvalidParameter;
            if (next == 0) break;
            at += next;
        }
        return NtStatus.Success;
    }

    /// <summary>
    /// Response: StructureSize(89) OplockLevel Flags CreateAction CreationTime LastAccessTime LastWriteTime ChangeTime
    /// AllocationSize EndofFile FileAttributes Reserved2 FileId(16) CreateContextsOffset CreateContextsLength Buffer.
    /// </summary>
    private static void WriteResponse(SmbConnection c, SmbRequest r, SmbOpen open, CreateAction action, VfsFileInfo info, List<CreateContext> contexts)
    {
        var o = r.Out;
        o.U16(89);
        o.U8(0); // oplock level: none until oplocks exist
        o.U8(0);
        o.U32((uint)action);
        // Times, sizes and attributes have the FileNetworkOpenInformation layout (with its reserved field).
        InfoEncoder.NetworkOpen(o, info);
        HandlerUtil.WriteFileId(o, open);
        var ctxAt = o.Length;
        o.U32(0);
        o.U32(0);

        var wantMxAc = contexts.Any(x => x.Name == "MxAc");
        var wantQFid = contexts.Any(x => x.Name == "QFid");
        if (!wantMxAc && !wantQFid) { o.U8(0); return; }
        o.Align(8);
        var start = o.Length;
        var lastNext = -1;
        void Begin(string name, int dataLen, Action write)
        {
            if (lastNext >= 0)
            {
                o.Align(8);
                o.PutU32(lastNext, (uint)(o.Length - (lastNext)));
            }
            var ctxStart = o.Length;
            lastNext = ctxStart;
            o.U32(0);          // Next
            o.U16(16);         // NameOffset
            o.U16(4);          // NameLength
            o.U16(0);
            o.U16(24);         // DataOffset
            o.U32((uint)dataLen);
            o.Bytes(System.Text.Encoding.ASCII.GetBytes(name));
            o.U32(0);          // pad to 8
            write();
        }
        if (wantMxAc)
        {
            var max = open.MaximalAccess;
            if ((info.Attributes & NtFileAttributes.ReadOnly) != 0 && !info.IsDirectory)
                max &= ~(AccessMask.FileWriteData | AccessMask.FileAppendData | AccessMask.FileWriteEa | AccessMask.Delete);
            Begin("MxAc", 8, () => { o.U32(0); o.U32((uint)max); });
        }
        if (wantQFid)
        {
            Begin("QFid", 32, () =>
            {
                o.U64(info.FileId);
                o.U64(0);
                o.U64(StableHash.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(open.Tree.Share.Name)));
                o.U64(0);
            });
        }
        o.PutU32(ctxAt, (uint)(start - r.ResponseStart));
        o.PutU32(ctxAt + 4, (uint)(o.Length - start));
    }
}
