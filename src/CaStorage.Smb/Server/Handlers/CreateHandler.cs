using System.Buffers.Binary;
using System.Security.Cryptography;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Protocol.Info;
using CaStorage.State;
using CaStorage.State.Notify;
using CaStorage.Vfs;
using Microsoft.Extensions.Logging;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.13/2.2.14 CREATE (3.3.5.9): validation, VFS open, share modes in the state tier, contexts.</summary>
internal static partial class CreateHandler
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

        var contexts = new List<CreateContext>();
        var ctxStatus = ctxLen > 0 ? ParseContexts(s, ctxOff, ctxLen, contexts) : NtStatus.Success;
        // MS-SMB2 3.3.5.9.7/12: a durable reconnect ignores every field but the name, the FileId and the lease key
        // (smb2.durable-open.reopen2 sends garbage in all the others).
        if (ctxStatus == NtStatus.Success && r.Tree is { IsPipe: false } && DurableContexts.Parse(s, contexts, c.Dialect, out var early) == NtStatus.Success
            && early.ReconnectVersion != 0)
        {
            if ((nameLen & 1) != 0 || !SmbReader.TrySlice(s, nameOff, nameLen, out var at) || !SmbReader.TryUtf16(s.Slice(at, nameLen), out var reconnectName))
                return NtStatus.ObjectNameNotFound;
            return await ReconnectAsync(c, r, r.Tree, reconnectName, early, contexts).ConfigureAwait(false);
        }

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

        if (ctxStatus != NtStatus.Success) return ctxStatus;

        var tree = r.Tree!;
        if (tree.IsPipe) return NtStatus.ObjectNameNotFound; // named pipes (DCE/RPC) are not served yet
        var dst = DurableContexts.Parse(s, contexts, c.Dialect, out var durable);
        if (dst != NtStatus.Success) return dst;
        if (durable.ReconnectVersion != 0) return NtStatus.ObjectNameNotFound; // pipes have no durable handles

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
        // SMB2_CREATE_EA_BUFFER: extended attributes of a file this create makes (or overwrites).
        List<VfsEa>? eas = null;
        if (contexts.FirstOrDefault(x => x.Name == "ExtA") is { } extA)
        {
            var eaStatus = SetInfoHandler.ParseEas(s.Slice(extA.DataStart, extA.DataLength), out var parsed);
            if (eaStatus != NtStatus.Success) return eaStatus;
            eas = parsed;
        }
        SmbReader.TryU8(s, b + 3, out var requestedOplock);
        var lease = c.Dialect >= SmbDialect.Smb210 && requestedOplock == OplockLevel.Lease ? ParseLease(s, contexts, c) : null;
        if (requestedOplock == OplockLevel.Lease && lease is null) requestedOplock = OplockLevel.None;
        if (await CheckReplayAsync(c, r, name, durable, requestedOplock, lease).ConfigureAwait(false) is { } replayed) return replayed;
        await CloseOtherInstanceAsync(c, durable).ConfigureAwait(false);

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

        // A named stream has its own share modes; its home is its file's. Placed before the stat: storing the
        // placement changes the ctime, which a replay of this CREATE must answer unchanged (smb2.replay).
        var key = await FileKeys.OfOpenAsync(c.Server, tree, file, action == CreateAction.Created, ct).ConfigureAwait(false);
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

        var openId = OpenId.New(key);
        var truncates = action is CreateAction.Overwritten or CreateAction.Superseded;
        var wants = new Wants(contexts.Any(x => x.Name == "MxAc"), contexts.Any(x => x.Name == "QFid"), durable.RequestVersion);
        var stateRequest = new OpenRequest
        {
            File = key,
            Open = openId,
            Access = access,
            Share = (ShareAccess)shareAccess,
            IsDirectory = file.IsDirectory,
            DeleteOnClose = (options & CreateOptions.DeleteOnClose) != 0,
            Truncates = truncates,
            Owner = c.Owner,
            RequestedOplock = requestedOplock,
            Lease = lease,
            Durable = ToDurableRequest(c, r, tree, durable, file, options),
        };
        var pending = c.Server.FileState.OpenAsync(stateRequest, ct);
        var finish = new Finish(c, tree, file, key, openId, access, options, fileAttributes, action, truncates, info0.Value!, wants,
            CreateAccess.Maximal(tree, vr.Value!)) { StateRequest = stateRequest, Eas = eas };
        // A durable open waits for its store commit, an open of a file whose shard another node owns for the owner's
        // answer (milliseconds): that is not worth an interim response (nor breaking up a compound); a break is.
        if (!pending.IsCompleted)
        {
            var t = pending.AsTask();
            await Task.WhenAny(t, Task.Delay(CommitGrace, ct)).ConfigureAwait(false);
            pending = new ValueTask<OpenDecision>(t);
        }
        // Inside a compound chain the requests after this one may use its handle: wait here instead of going async
        // (the break's acknowledgement arrives as its own frame; smb2.compound.compound-break).
        if (pending.IsCompleted || r.Header.NextCommand != 0)
        {
            var st = await finish.RunAsync(await pending.ConfigureAwait(false), r.Out, r.ResponseStart).ConfigureAwait(false);
            if (finish.Open is { } opened) r.Compound.LastOpen = opened;
            return st;
        }
        // The open waits for oplock/lease breaks to be acknowledged: answer STATUS_PENDING now (as Windows does).
        var task = pending.AsTask();
        var replayKey = durable.RequestVersion == 2 ? c.Server.BeginPendingCreate(c.ClientGuid, durable.CreateGuid) : null;
        return r.GoAsync(async (o, _) =>
        {
            try
            {
                return await finish.RunAsync(await task.ConfigureAwait(false), o, o.Length - SmbHeader.Size).ConfigureAwait(false);
            }
            finally
            {
                if (replayKey is { } k) c.Server.EndPendingCreate(k);
            }
        });
    }

    /// <param name="DurableVersion">1 (DHnQ) or 2 (DH2Q): answer with that context when durability is granted.</param>
    /// <summary>How long a CREATE waits for the state tier's answer before answering STATUS_PENDING.</summary>
    private static readonly TimeSpan CommitGrace = TimeSpan.FromMilliseconds(200);

    private sealed record Wants(bool MaximalAccess, bool FileId, int DurableVersion);

    private static uint ModeOf(CreateOptions options) =>
        (uint)(options & (CreateOptions.WriteThrough | CreateOptions.SequentialOnly | CreateOptions.NoIntermediateBuffering
            | CreateOptions.SynchronousIoAlert | CreateOptions.SynchronousIoNonAlert | CreateOptions.DeleteOnClose));

    /// <summary>The part of CREATE after the state tier decided: register the open, truncate, answer.</summary>
    private sealed record Finish(SmbConnection C, SmbTreeConnect Tree, VfsFile File, FileKey Key, OpenId OpenId, AccessMask Access,
        CreateOptions Options, uint FileAttributes, CreateAction Action, bool Truncates, VfsFileInfo Info, Wants Wants, AccessMask MaximalAccess)
    {
        public SmbOpen? Open { get; private set; }
        public OpenRequest? StateRequest { get; init; }
        public IReadOnlyList<VfsEa>? Eas { get; init; }

        public async ValueTask<NtStatus> RunAsync(OpenDecision decision, ResponseBuffer o, int responseStart)
        {
            var ops = Tree.Vfs.Ops;
            var ct = C.Closed;
            if (decision.Outcome != OpenOutcome.Granted)
            {
                await ops.CloseAsync(File).ConfigureAwait(false);
                // A refused create leaves nothing behind (a lease key already on another file; smb2.lease.request).
                if (Action == CreateAction.Created)
                    await ops.UnlinkAsync(Tree.Vfs, File.Path, File.IsDirectory, CancellationToken.None).ConfigureAwait(false);
                return decision.Status;
            }
            var open = new SmbOpen(C.NextVolatileId(), OpenId, Tree, File, Key, Access)
            {
                DeleteOnClose = (Options & CreateOptions.DeleteOnClose) != 0,
                MaximalAccess = MaximalAccess,
                Mode = ModeOf(Options),
                OplockLevel = decision.Oplock,
                LeaseGrant = decision.Lease,
                Durable = decision.Durable,
                DurableVersion = Wants.DurableVersion,
                ReplayEligible = Wants.DurableVersion == 2,
                StateRequest = StateRequest,
                CreateAction = Action,
            };
            C.AddOpen(open);
            Open = open;

            var info = Info;
            if (Truncates)
            {
                // Overwrite/supersede happen only after the share-mode check succeeded (MS-FSA 2.1.5.1.2.2).
                var t = await ops.SetEndOfFileAsync(File, 0, ct).ConfigureAwait(false);
                if (t == NtStatus.Success)
                {
                    var attrs = (NtFileAttributes)FileAttributes | NtFileAttributes.Archive;
                    await ops.SetBasicInfoAsync(File, new VfsBasicInfo(null, null, null, null, attrs), ct).ConfigureAwait(false);
                }
                var q = await ops.FstatAsync(File, ct).ConfigureAwait(false);
                if (q.IsSuccess) info = q.Value!;
            }
            if (Eas is { Count: > 0 } && (Action == CreateAction.Created || Truncates))
            {
                var e = await ops.SetEasAsync(File, Eas, ct).ConfigureAwait(false);
                if (e != NtStatus.Success) C.Log.LogWarning("CREATE {Path}: the ExtA context's EAs were not stored ({Status})", File.Path, e);
            }

            if (Action == CreateAction.Created)
                C.Server.Notify.Report(Tree.Share.Name, File.Path, NotifyAction.Added, File.IsDirectory ? NotifyFilter.DirName : NotifyFilter.FileName);
            else if (Truncates)
                C.Server.Notify.Report(Tree.Share.Name, File.Path, NotifyAction.Modified, NotifyFilter.Size | NotifyFilter.LastWrite | NotifyFilter.Attributes);
            WriteResponse(o, responseStart, open, Action, info, Wants, decision);
            return NtStatus.Success;
        }
    }

    /// <summary>
    /// SMB2_CREATE_REQUEST_LEASE (v1: LeaseKey LeaseState LeaseFlags LeaseDuration, 32 bytes) or _V2 (+ ParentLeaseKey
    /// Epoch Reserved, 52 bytes; SMB 3.x). A malformed context leaves the request without a lease.
    /// </summary>
    private static LeaseRequest? ParseLease(ReadOnlySpan<byte> s, List<CreateContext> contexts, SmbConnection c)
    {
        var ctx = contexts.FirstOrDefault(x => x.Name == "RqLs");
        if (ctx is null) return null;
        var d = s.Slice(ctx.DataStart, ctx.DataLength);
        if (d.Length < 32) return null;
        var key = new Guid(d[..16]);
        var state = (LeaseState)BinaryPrimitives.ReadUInt32LittleEndian(d[16..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(d[20..]);
        if (d.Length >= 52 && c.Dialect >= SmbDialect.Smb300)
        {
            var parent = (flags & 0x4) != 0 ? new Guid(d.Slice(32, 16)) : Guid.Empty;
            var epoch = BinaryPrimitives.ReadUInt16LittleEndian(d[48..]);
            return new LeaseRequest(new LeaseId(c.ClientGuid, key), state & LeaseState.All, 2, parent, epoch);
        }
        return new LeaseRequest(new LeaseId(c.ClientGuid, key), state & LeaseState.All, 1, Guid.Empty, 0);
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
            // Latin-1 keeps every byte: some context names are binary GUIDs (App Instance Id).
            var name = System.Text.Encoding.Latin1.GetString(c.Slice(nameOff, nameLen));
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
    private static void WriteResponse(ResponseBuffer o, int responseStart, SmbOpen open, CreateAction action, VfsFileInfo info, Wants wants, OpenDecision decision)
    {
        o.U16(89);
        o.U8(decision.Oplock);
        o.U8(0);
        o.U32((uint)action);
        // Times, sizes and attributes have the FileNetworkOpenInformation layout (with its reserved field).
        InfoEncoder.NetworkOpen(o, info);
        HandlerUtil.WriteFileId(o, open);
        var ctxAt = o.Length;
        o.U32(0);
        o.U32(0);

        var wantMxAc = wants.MaximalAccess;
        var wantQFid = wants.FileId;
        var lease = decision.Lease;
        var durable = wants.DurableVersion != 0 ? decision.Durable : null;
        if (!wantMxAc && !wantQFid && lease is null && durable is null) { o.U8(0); return; }
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
        if (durable is not null && wants.DurableVersion == 1)
        {
            Begin("DHnQ", 8, () => o.U64(0)); // SMB2_CREATE_DURABLE_HANDLE_RESPONSE: reserved
        }
        else if (durable is not null)
        {
            // SMB2_CREATE_DURABLE_HANDLE_RESPONSE_V2: Timeout, Flags.
            Begin("DH2Q", 8, () => { o.U32(durable.TimeoutMs); o.U32(durable.Persistent ? DurableContexts.DhandleFlagPersistent : 0); });
        }
        if (wantQFid)
        {
            Begin("QFid", 32, () =>
            {
                o.U64(info.FileId);
                o.U64(0);
                o.U64(open.Tree.Share.VolumeId);
                o.U64(0);
            });
        }
        if (lease is not null)
        {
            // SMB2_CREATE_RESPONSE_LEASE(_V2): the granted state; BREAK_IN_PROGRESS while a break is outstanding.
            var flags = (lease.Breaking ? 0x2u : 0) | (lease.Version == 2 && lease.ParentKey != Guid.Empty ? 0x4u : 0);
            Begin("RqLs", lease.Version == 2 ? 52 : 32, () =>
            {
                o.Guid(lease.Id.Key);
                o.U32((uint)lease.State);
                o.U32(flags);
                o.U64(0);
                if (lease.Version == 2)
                {
                    o.Guid(lease.ParentKey);
                    o.U16(lease.Epoch);
                    o.U16(0);
                }
            });
        }
        o.PutU32(ctxAt, (uint)(start - responseStart));
        o.PutU32(ctxAt + 4, (uint)(o.Length - start));
    }
}
