using CaStorage.Admin.V1;
using CaStorage.Rpc;
using CaStorage.State;
using CaStorage.State.Inspection;

namespace CaStorage.Admin;

/// <summary>Opens, byte-range locks and leases: the wire layer's opens joined with the file actors' snapshots.</summary>
public sealed partial class AdminService
{
    private async ValueTask<(IReadOnlyList<OpenView> Opens, IReadOnlyList<FileStateSnapshot> Files)> GatherAsync(RpcCallContext call)
    {
        var files = await _state.SnapshotAsync(call.CancellationToken).ConfigureAwait(false);
        return (_sessions.ListOpens(), files);
    }

    private async ValueTask<ListOpensResponse> ListOpensAsync(ListOpensRequest request, RpcCallContext call)
    {
        var (opens, files) = await GatherAsync(call).ConfigureAwait(false);
        var state = new Dictionary<OpenId, (OpenStateView Open, FileStateSnapshot File)>();
        foreach (var f in files)
            foreach (var o in f.Opens) state[o.Open] = (o, f);
        var response = new ListOpensResponse();
        foreach (var o in opens)
        {
            if (request.SessionId != 0 && o.SessionId != request.SessionId) continue;
            if (request.Share.Length > 0 && !string.Equals(o.Share, request.Share, StringComparison.OrdinalIgnoreCase)) continue;
            var open = new Open
            {
                PersistentId = o.Id.Value,
                VolatileId = o.VolatileId,
                SessionId = o.SessionId,
                TreeId = o.TreeId,
                Share = o.Share,
                Path = o.Path,
                User = o.User,
                ClientAddress = o.ClientAddress,
                Access = (uint)o.Access,
                Oplock = OplockName(o.Oplock),
                Durable = o.Durable,
                Persistent = o.Persistent,
                Disconnected = o.Disconnected,
                OwnerNode = _node.Id,
                IsDirectory = o.IsDirectory,
                FileId = o.File.FileId,
            };
            if (state.TryGetValue(o.Id, out var s))
            {
                open.ShareAccess = (uint)s.Open.Share;
                // The actor's view is current (a break may have lowered the level since CREATE answered).
                open.Oplock = OplockName(s.Open.Lease is null ? s.Open.Oplock : OplockLevel.Lease);
                SetLease(open, s.Open, s.File);
            }
            response.Opens.Add(open);
        }
        // Durable and persistent opens whose connection is gone live only in the state tier until reclaimed or expired.
        var listed = opens.Select(o => o.Id).ToHashSet();
        foreach (var (open, file) in state.Values)
        {
            if (open.Durable is not { DisconnectedAtMs: not null } d || listed.Contains(open.Open)) continue;
            if (request.SessionId != 0 && d.SessionId != request.SessionId) continue;
            if (request.Share.Length > 0 && !string.Equals(file.File.Share, request.Share, StringComparison.OrdinalIgnoreCase)) continue;
            var view = new Open
            {
                PersistentId = open.Open.Value,
                SessionId = d.SessionId,
                Share = file.File.Share,
                Path = d.Path,
                User = d.UserName,
                Access = (uint)open.Access,
                ShareAccess = (uint)open.Share,
                Oplock = OplockName(open.Lease is null ? open.Oplock : OplockLevel.Lease),
                Durable = true,
                Persistent = d.Persistent,
                Disconnected = true,
                OwnerNode = d.Node,
                IsDirectory = d.IsDirectory,
                FileId = file.File.FileId,
            };
            SetLease(view, open, file);
            response.Opens.Add(view);
        }
        return response;
    }

    /// <summary>The open's lease key and current state, from its file actor.</summary>
    private static void SetLease(Open view, OpenStateView open, FileStateSnapshot file)
    {
        if (open.Lease is not { } lid || file.Leases.FirstOrDefault(l => l.Id == lid) is not { } lease) return;
        view.LeaseKey = LeaseKeyText(lid.Key);
        view.LeaseState = LeaseStateName(lease.State);
    }

    private async ValueTask<ListLocksResponse> ListLocksAsync(ListLocksRequest request, RpcCallContext call)
    {
        var (opens, files) = await GatherAsync(call).ConfigureAwait(false);
        var byId = opens.ToDictionary(o => o.Id);
        var response = new ListLocksResponse();
        foreach (var f in files)
        {
            foreach (var l in f.Locks)
            {
                byId.TryGetValue(l.Open, out var o);
                response.Locks.Add(new ByteRangeLock
                {
                    PersistentId = l.Open.Value,
                    SessionId = o?.SessionId ?? 0,
                    Share = f.File.Share,
                    Path = o?.Path ?? "",
                    FileId = f.File.FileId,
                    Offset = l.Offset,
                    Length = l.Length,
                    Exclusive = l.Exclusive,
                    OwnerNode = _node.Id,
                });
            }
        }
        return response;
    }

    private async ValueTask<ListLeasesResponse> ListLeasesAsync(ListLeasesRequest request, RpcCallContext call)
    {
        var (opens, files) = await GatherAsync(call).ConfigureAwait(false);
        var byId = opens.ToDictionary(o => o.Id);
        var response = new ListLeasesResponse();
        foreach (var f in files)
        {
            foreach (var l in f.Leases)
            {
                var path = f.Opens.Where(o => o.Lease == l.Id).Select(o => byId.TryGetValue(o.Open, out var v) ? v.Path : null)
                    .FirstOrDefault(p => p is not null) ?? "";
                response.Leases.Add(new Lease
                {
                    ClientGuid = l.Id.ClientGuid.ToString(),
                    LeaseKey = LeaseKeyText(l.Id.Key),
                    Share = f.File.Share,
                    FileId = f.File.FileId,
                    Path = path,
                    State = LeaseStateName(l.State),
                    Breaking = l.BreakingTo is not null,
                    BreakingTo = l.BreakingTo is { } to ? LeaseStateName(to) : "",
                    Epoch = l.Epoch,
                    Version = (uint)l.Version,
                    OpenCount = (uint)l.Opens,
                    OwnerNode = _node.Id,
                });
            }
        }
        return response;
    }

    /// <summary>Closes the open if its client is connected here; null when it is not.</summary>
    private async ValueTask<CloseOpenResponse?> CloseOpenHereAsync(CloseOpenRequest request, RpcCallContext call)
    {
        if (request.PersistentId == 0) throw Refuse(call, new RpcException(RpcStatusCode.InvalidArgument, "persistent_id is required"));
        if (await _sessions.CloseOpenAsync(new OpenId(request.PersistentId)).ConfigureAwait(false) is not { } closed) return null;
        AdminLog.OpenClosed(_log, call.Peer, closed.Id.ToString(), closed.SessionId, closed.Share, closed.Path);
        return new CloseOpenResponse { PersistentId = request.PersistentId, SessionId = closed.SessionId, Share = closed.Share, Path = closed.Path };
    }
}
