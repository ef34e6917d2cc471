using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.State;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>CREATE with durable contexts: replay detection, App Instance Id, durable requests and reconnects.</summary>
internal static partial class CreateHandler
{
    /// <summary>The state-tier form of a DHnQ/DH2Q request, once the file is open (its path is known).</summary>
    private static DurableRequest? ToDurableRequest(SmbConnection c, SmbRequest r, SmbTreeConnect tree, DurableAsk ask, VfsFile file, CreateOptions options)
    {
        if (ask.RequestVersion == 0) return null;
        var user = r.Session!.User;
        return new DurableRequest
        {
            Version = ask.RequestVersion,
            TimeoutMs = ask.TimeoutMs,
            // MS-SMB2 3.3.5.9.10: persistent only on 3.x, with the server's capability, on a CA share.
            Persistent = ask.RequestVersion == 2 && ask.PersistentFlag && tree.Share.ContinuouslyAvailable
                && (c.ServerCapabilities & NegotiateHandler.CapPersistentHandles) != 0,
            CreateGuid = ask.CreateGuid,
            ClientGuid = c.ClientGuid,
            AppInstanceId = ask.AppInstanceId,
            SessionId = r.Session.Id,
            UserName = user?.Name ?? "",
            UserSid = user?.Token.User.ToString() ?? "",
            Path = DurablePath(file),
            CreateOptions = (uint)options,
        };
    }

    private static string DurablePath(VfsFile file) => file.StreamName is null ? file.Path : file.Path + ":" + file.StreamName;

    /// <summary>
    /// MS-SMB2 3.3.5.9.10: a DH2Q whose CreateGuid names an open of this client is a replay (the same open is answered
    /// again) when flagged SMB2_FLAGS_REPLAY_OPERATION, else STATUS_DUPLICATE_OBJECTID. Null: not a replay, go on.
    /// </summary>
    private static async ValueTask<NtStatus?> CheckReplayAsync(SmbConnection c, SmbRequest r, string name, DurableAsk ask, byte requestedOplock, LeaseRequest? lease)
    {
        if (ask.RequestVersion != 2) return null;
        // The original is still waiting (for a break acknowledgement): its replay cannot be answered yet (Samba, "sane").
        if ((r.Header.Flags & SmbFlags.ReplayOperation) != 0 && c.Server.IsCreatePending(c.ClientGuid, ask.CreateGuid)) return NtStatus.FileNotAvailable;
        if (await c.Server.FileState.FindByCreateGuidAsync(c.ClientGuid, ask.CreateGuid).ConfigureAwait(false) is not { Open: var id }) return null;
        if ((r.Header.Flags & SmbFlags.ReplayOperation) == 0) return NtStatus.DuplicateObjectId;
        if (!c.Server.TryGetOpen(id, out var open) || open.Closed != 0)
        {
            // The open lost its connection (or the server restarted) before the client saw the answer: the replay
            // reclaims it as a DH2C would (the state was committed before any reply could leave).
            var reclaim = ask with { ReconnectVersion = 2, PersistentFileId = id.Value, HasOtherContexts = false };
            var st = await ReconnectAsync(c, r, r.Tree!, name, reclaim, [], lease, replay: true).ConfigureAwait(false);
            return st == NtStatus.ObjectNameNotFound ? null : st;
        }
        // Used since its CREATE: the replay is a new open (its DUPLICATE_OBJECTID check above still holds).
        if (!open.ReplayEligible) return null;
        // A replay with a lease must name the lease the open has (Samba).
        if (lease is not null && (open.Lease is not { } held || held.Key != lease.Id.Key)) return NtStatus.AccessDenied;
        // The lease as it is now (a later create of the same client may have upgraded it: smb2.replay.replay-dhv2-lease1).
        var leaseNow = open.LeaseGrant;
        if (leaseNow is not null && await c.Server.FileState.GetDurableAsync(open.Key, open.Id).ConfigureAwait(false) is { Lease: { } stored })
            leaseNow = leaseNow with { State = stored.State, Epoch = stored.Epoch };
        var decision = OpenDecision.Granted with
        {
            // The oplock answered is the one asked for (Windows and Samba do the same for replays).
            Oplock = requestedOplock,
            Durable = open.Durable is { } g && (requestedOplock is OplockLevel.Batch or OplockLevel.Lease) ? g : null,
            Lease = leaseNow,
        };
        var info = await open.Tree.Vfs.Ops.FstatAsync(open.File, c.Closed).ConfigureAwait(false);
        if (!info.IsSuccess) return info.Status;
        r.Compound.LastOpen = open;
        WriteResponse(r.Out, r.ResponseStart, open, open.CreateAction, info.Value!, new Wants(false, false, open.DurableVersion), decision);
        return NtStatus.Success;
    }

    /// <summary>
    /// MS-SMB2 3.3.5.9.13: a new open with an App Instance Id closes the open another instance of the application
    /// (a cluster failover of it) still holds under the same id.
    /// </summary>
    private static async ValueTask CloseOtherInstanceAsync(SmbConnection c, DurableAsk ask)
    {
        if (ask.AppInstanceId == Guid.Empty || await c.Server.FileState.FindByAppInstanceAsync(ask.AppInstanceId).ConfigureAwait(false) is not { } other) return;
        var (id, key) = (other.Open, other.File);
        if (c.Server.TryGetOpen(id, out var open))
        {
            await open.Session.Connection.CloseOpenAsync(open).ConfigureAwait(false);
            return;
        }
        // Its client is on another node of the cluster: closed there, as its own CLOSE would.
        if (c.Server.CloseRemoteOpen is { } closeRemote && await closeRemote(id).ConfigureAwait(false)) return;
        // Disconnected: only the state tier holds it.
        await c.Server.FileState.CloseAsync(key, id).ConfigureAwait(false);
    }

    /// <summary>
    /// DHnC / DH2C (MS-SMB2 3.3.5.9.7 and 3.3.5.9.12): the state tier validates the claim and moves the open to this
    /// connection; the VFS reopens the file, which must still be the same file (FileKey).
    /// </summary>
    /// <param name="leaseOverride">A replayed create's lease (its contexts are not those of a reconnect).</param>
    /// <param name="replay">A replayed create: the answer carries the DH2Q response as the original did.</param>
    private static async ValueTask<NtStatus> ReconnectAsync(SmbConnection c, SmbRequest r, SmbTreeConnect tree, string name, DurableAsk ask,
        List<CreateContext> contexts, LeaseRequest? leaseOverride = null, bool replay = false)
    {
        // Samba: any context besides the reconnect, its lease and an ignored DHnQ makes the reconnect fail.
        if (ask.HasOtherContexts) return NtStatus.ObjectNameNotFound;
        var id = new OpenId(ask.PersistentFileId);
        var state = c.Server.FileState;
        var lease = leaseOverride ?? (contexts.Any(x => x.Name == "RqLs") && c.Dialect >= SmbDialect.Smb210 ? ParseLease(r.Span, contexts, c) : null);
        // The client may be faster than the teardown of its old connection: let that finish disconnecting the open.
        if (c.Server.TryGetOpen(id, out var live) && (live.Closed != 0 || live.Session.Connection.Closed.IsCancellationRequested))
            await live.Released.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var session = r.Session!;
        var request = new ReconnectRequest
        {
            Open = id,
            Share = tree.Share.Name,
            Version = ask.ReconnectVersion,
            CreateGuid = ask.CreateGuid,
            ClientGuid = c.ClientGuid,
            UserSid = session.User?.Token.User.ToString() ?? "",
            LeaseKey = lease?.Id.Key,
            Path = name,
            PersistentFlag = ask.PersistentFlag,
            Owner = c.Owner,
            SessionId = session.Id,
        };
        var result = await state.ReconnectAsync(request).ConfigureAwait(false);
        // Still connected: the loss of its old connection may not have reached the open's owner yet (another node
        // notices its client's TCP close a moment later). Ask again for a short while.
        for (var i = 0; i < 40 && result.Busy; i++)
        {
            await Task.Delay(50, c.Closed).ConfigureAwait(false);
            result = await state.ReconnectAsync(request).ConfigureAwait(false);
        }
        if (result.Status != NtStatus.Success) return result.Status;
        var rec = result.Record!;
        var decision = result.Decision!;

        var ops = tree.Vfs.Ops;
        var vr = await ops.OpenAsync(tree.Vfs, new VfsOpenRequest
        {
            Path = rec.Path,
            Disposition = CreateDisposition.Open,
            Options = (CreateOptions)rec.CreateOptions & ~CreateOptions.DeleteOnClose,
            Access = rec.Access,
            Reclaim = true,
        }, c.Closed).ConfigureAwait(false);
        VfsFile? file = vr.IsSuccess ? vr.Value!.File : null;
        VfsResult<VfsFileInfo>? info = file is null ? null : await ops.FstatAsync(file, c.Closed).ConfigureAwait(false);
        if (file is null || !FileHome.Names(rec.File, file.ShareModeId) || info is not { IsSuccess: true })
        {
            // The file is gone or is another file now: the open cannot come back.
            if (file is not null) await ops.CloseAsync(file).ConfigureAwait(false);
            await state.CloseAsync(rec.File, rec.Id).ConfigureAwait(false);
            return NtStatus.ObjectNameNotFound;
        }
        var options = (CreateOptions)rec.CreateOptions;
        var open = new SmbOpen(c.NextVolatileId(), rec.Id, tree, file, rec.File, rec.Access)
        {
            DeleteOnClose = rec.DeleteOnClose,
            MaximalAccess = rec.Access,
            Mode = ModeOf(options),
            OplockLevel = decision.Oplock,
            LeaseGrant = decision.Lease,
            Durable = decision.Durable,
            DurableVersion = rec.DurableVersion,
            Position = rec.Position,
            CreateAction = CreateAction.Opened,
            // The grant the reconnect settled on and the session it is on now, not what the record was stored with.
            StateRequest = rec.ToOpenRequest(c.Owner) with
            {
                RequestedOplock = decision.Lease is null ? decision.Oplock : OplockLevel.Lease,
                Lease = decision.Lease is { } lg ? new LeaseRequest(lg.Id, lg.State, lg.Version, lg.ParentKey, lg.Epoch) : null,
                Durable = rec.ToDurableRequest() with { SessionId = session.Id },
            },
        };
        open.LockMirror.AddRange(rec.Locks);
        c.AddOpen(open);
        c.Server.Metrics.HandleReclaimed(open.Durable?.Persistent == true);
        r.Compound.LastOpen = open;
        // A reconnect answers without durable contexts; the lease context comes back when one was sent.
        WriteResponse(r.Out, r.ResponseStart, open, CreateAction.Opened, info.Value!.Value!, new Wants(false, false, replay ? 2 : 0),
            lease is null ? decision with { Lease = null } : decision);
        // A break still outstanding may have gone to a connection that died (with its node): it is sent again here,
        // after this answer, so the client can acknowledge it and other opens need not wait for the break timeout.
        if (decision.Lease is { Breaking: true } b)
            r.StartAsyncWork = () => c.SendLeaseBreak(b.Id, b.State, b.BreakTo, b.Epoch, ackRequired: true, b.Version);
        return NtStatus.Success;
    }
}
