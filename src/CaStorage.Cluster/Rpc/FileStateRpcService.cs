using CaStorage.Core;
using CaStorage.Rpc;
using CaStorage.State;
using Google.Protobuf.Reflection;
using V1 = CaStorage.Cluster.V1;
using static CaStorage.Cluster.Rpc.ClusterWire;

namespace CaStorage.Cluster.Rpc;

/// <summary>
/// The owner's side of FileState: each call runs against this node's file actors. A call for a shard this node does
/// not own (a stale routing table on the caller) fails UNAVAILABLE, and the caller asks again after its next refresh.
/// </summary>
internal sealed class FileStateRpcService(IFileStateService local, ClusterMembership membership)
{
    private static readonly ServiceDescriptor Service = V1.ClusterReflection.Descriptor.Services.Single(s => s.Name == "FileState");
    internal static MethodDescriptor Method(string name) => Service.FindMethodByName(name) ?? throw new ArgumentException($"no method {name}");

    public void MapTo(GrpcMethodTable t)
    {
        t.MapUnary<V1.OpenCall, V1.OpenResult>(Method("Open"), async (c, ctx) => Of(await Owned(c.File).OpenAsync(Of(c), ctx.CancellationToken).ConfigureAwait(false)));
        t.MapUnary<V1.OpenRef, V1.CloseResult>(Method("Close"), async (c, _) => Of(await Owned(c.File).CloseAsync(Of(c.File), new OpenId(c.Open)).ConfigureAwait(false)));
        t.MapUnary<V1.DeletePendingCall, V1.StatusResult>(Method("SetDeletePending"), async (c, _) =>
            Status(await Owned(c.Open.File).SetDeletePendingAsync(Of(c.Open.File), new OpenId(c.Open.Open), c.Value).ConfigureAwait(false)));
        t.MapUnary<V1.FileRef, V1.BoolResult>(Method("IsDeletePending"), async (c, _) =>
            new V1.BoolResult { Value = await Owned(c.File).IsDeletePendingAsync(Of(c.File)).ConfigureAwait(false) });
        t.MapUnary<V1.OpenRef, V1.StatusResult>(Method("CheckRename"), async (c, _) => Status(await Owned(c.File).CheckRenameAsync(Of(c.File), new OpenId(c.Open)).ConfigureAwait(false)));
        t.MapUnary<V1.FileRef, V1.StatusResult>(Method("CheckReplace"), async (c, _) => Status(await Owned(c.File).CheckReplaceAsync(Of(c.File)).ConfigureAwait(false)));
        t.MapUnary<V1.ProbeCall, V1.StatusResult>(Method("ProbeShareAccess"), async (c, _) =>
            Status(await Owned(c.File).ProbeShareAccessAsync(Of(c.File), (AccessMask)c.Access, (ShareAccess)c.Share).ConfigureAwait(false)));
        t.MapUnary<V1.FileRef, V1.Empty>(Method("FileDeleted"), async (c, _) =>
        {
            await Owned(c.File).FileDeletedAsync(Of(c.File)).ConfigureAwait(false);
            return new V1.Empty();
        });
        // The caller cancelling its call (CANCEL, close, disconnect) cancels the wait in the actor.
        t.MapUnary<V1.LockCall, V1.StatusResult>(Method("Lock"), async (c, ctx) => Status(await Owned(c.Open.File).LockAsync(Of(c.Open.File), new OpenId(c.Open.Open),
            c.Ranges.Select(Of).ToArray(), c.FailImmediately, ctx.CancellationToken, Sequence(c.Sequence)).ConfigureAwait(false)));
        t.MapUnary<V1.LockCall, V1.StatusResult>(Method("Unlock"), async (c, _) => Status(await Owned(c.Open.File).UnlockAsync(Of(c.Open.File), new OpenId(c.Open.Open),
            c.Ranges.Select(Of).ToArray(), Sequence(c.Sequence)).ConfigureAwait(false)));
        t.MapUnary<V1.IoCall, V1.StatusResult>(Method("CheckIo"), async (c, _) =>
            Status(await Owned(c.Open.File).CheckIoAsync(Of(c.Open.File), new OpenId(c.Open.Open), c.Offset, c.Length, c.Write).ConfigureAwait(false)));
        t.MapUnary<V1.AckOplockCall, V1.AckOplockResult>(Method("AckOplock"), async (c, _) =>
        {
            var (st, level) = await Owned(c.Open.File).AckOplockAsync(Of(c.Open.File), new OpenId(c.Open.Open), (byte)c.Level).ConfigureAwait(false);
            return new V1.AckOplockResult { Status = (uint)st, Level = level };
        });
        t.MapUnary<V1.AckLeaseCall, V1.StatusResult>(Method("AckLease"), async (c, _) => Status(await Owned(c.File).AckLeaseAsync(Of(c.Lease), (LeaseState)c.State).ConfigureAwait(false)));
        t.MapUnary<V1.DisconnectCall, V1.BoolResult>(Method("Disconnect"), async (c, _) =>
            new V1.BoolResult { Value = await Owned(c.Open.File).DisconnectAsync(Of(c.Open.File), new OpenId(c.Open.Open), c.Position).ConfigureAwait(false) });
        t.MapUnary<V1.ReconnectCall, V1.ReconnectResultMsg>(Method("Reconnect"), async (c, _) =>
        {
            var r = await OwnedShard(new OpenId(c.Open).Shard).ReconnectAsync(Of(c)).ConfigureAwait(false);
            return new V1.ReconnectResultMsg
            {
                Status = (uint)r.Status, Record = r.Record is { } rec ? Of(rec) : null, Decision = r.Decision is { } d ? Of(d) : null, Busy = r.Busy,
            };
        });
        t.MapUnary<V1.PathCall, V1.Empty>(Method("UpdateDurablePath"), async (c, _) =>
        {
            await Owned(c.Open.File).UpdateDurablePathAsync(Of(c.Open.File), new OpenId(c.Open.Open), c.Path).ConfigureAwait(false);
            return new V1.Empty();
        });
        t.MapUnary<V1.OpenRef, V1.DurableLookup>(Method("GetDurable"), async (c, _) =>
            await Owned(c.File).GetDurableAsync(Of(c.File), new OpenId(c.Open)).ConfigureAwait(false) is { } rec
                ? new V1.DurableLookup { Found = true, Record = Of(rec) } : new V1.DurableLookup());
    }

    private static V1.StatusResult Status(NtStatus s) => new() { Status = (uint)s };

    private IFileStateService Owned(V1.FileKey f) => OwnedShard(OpenId.ShardOf(Of(f)));

    private IFileStateService OwnedShard(int shard) =>
        membership.Owns(shard, out _) ? local : throw new RpcException(RpcStatusCode.Unavailable, $"shard {shard} is not owned by {membership.NodeId}");
}
