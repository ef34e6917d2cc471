using CaStorage.Core;
using CaStorage.State;
using CaStorage.State.Persistence;
using Google.Protobuf;
using V1 = CaStorage.Cluster.V1;

namespace CaStorage.Cluster.Rpc;

/// <summary>The one mapping between the state tier's types and proto/cluster.proto messages (both directions).</summary>
internal static class ClusterWire
{
    public static ByteString Bytes(System.Guid g) => g == System.Guid.Empty ? ByteString.Empty : ByteString.CopyFrom(g.ToByteArray());
    public static System.Guid Guid(ByteString b) => b.Length == 16 ? new Guid(b.Span) : System.Guid.Empty;

    public static V1.FileKey Of(FileKey f) => new() { Share = f.Share, FileId = f.FileId };
    public static FileKey Of(V1.FileKey f) => new(f.Share, f.FileId);
    public static V1.OpenRef Ref(FileKey f, OpenId o) => new() { File = Of(f), Open = o.Value };

    public static V1.LeaseId Of(LeaseId l) => new() { ClientGuid = Bytes(l.ClientGuid), Key = Bytes(l.Key) };
    public static LeaseId Of(V1.LeaseId l) => new(Guid(l.ClientGuid), Guid(l.Key));

    public static V1.LockRange Of(LockRange r) => new() { Offset = r.Offset, Length = r.Length, Exclusive = r.Exclusive };
    public static LockRange Of(V1.LockRange r) => new(r.Offset, r.Length, r.Exclusive);

    public static uint Of(LockSequence? s) => s is { } q ? (uint)(q.Bucket << 4 | q.Number) : 0;
    public static LockSequence? Sequence(uint raw) => raw == 0 ? null : LockSequence.From(raw);

    public static V1.OpenCall Of(OpenRequest r) => new()
    {
        File = Of(r.File), Open = r.Open.Value, Access = (uint)r.Access, Share = (uint)r.Share, IsDirectory = r.IsDirectory,
        DeleteOnClose = r.DeleteOnClose, Truncates = r.Truncates, Owner = r.Owner, RequestedOplock = r.RequestedOplock,
        Lease = r.Lease is { } l ? new V1.LeaseRequest { Id = Of(l.Id), State = (uint)l.State, Version = l.Version, ParentKey = Bytes(l.ParentKey), Epoch = l.Epoch } : null,
        Durable = r.Durable is { } d ? Of(d) : null,
    };

    public static OpenRequest Of(V1.OpenCall c) => new()
    {
        File = Of(c.File), Open = new OpenId(c.Open), Access = (AccessMask)c.Access, Share = (ShareAccess)c.Share, IsDirectory = c.IsDirectory,
        DeleteOnClose = c.DeleteOnClose, Truncates = c.Truncates, Owner = c.Owner, RequestedOplock = (byte)c.RequestedOplock,
        Lease = c.Lease is { } l ? new LeaseRequest(Of(l.Id), (LeaseState)l.State, l.Version, Guid(l.ParentKey), (ushort)l.Epoch) : null,
        Durable = c.Durable is { } d ? Of(d) : null,
    };

    private static V1.DurableRequest Of(DurableRequest d) => new()
    {
        Version = d.Version, TimeoutMs = d.TimeoutMs, Persistent = d.Persistent, CreateGuid = Bytes(d.CreateGuid), ClientGuid = Bytes(d.ClientGuid),
        AppInstanceId = Bytes(d.AppInstanceId), SessionId = d.SessionId, UserName = d.UserName, UserSid = d.UserSid, Path = d.Path, CreateOptions = d.CreateOptions,
    };

    private static DurableRequest Of(V1.DurableRequest d) => new()
    {
        Version = d.Version, TimeoutMs = d.TimeoutMs, Persistent = d.Persistent, CreateGuid = Guid(d.CreateGuid), ClientGuid = Guid(d.ClientGuid),
        AppInstanceId = Guid(d.AppInstanceId), SessionId = d.SessionId, UserName = d.UserName, UserSid = d.UserSid, Path = d.Path, CreateOptions = d.CreateOptions,
    };

    public static V1.OpenResult Of(OpenDecision d) => new()
    {
        Outcome = (int)d.Outcome, Oplock = d.Oplock,
        Lease = d.Lease is { } l ? Of(l) : null,
        Durable = d.Durable is { } g ? new V1.DurableGrant { TimeoutMs = g.TimeoutMs, Persistent = g.Persistent } : null,
    };

    public static OpenDecision Of(V1.OpenResult r) => new((OpenOutcome)r.Outcome)
    {
        Oplock = (byte)r.Oplock,
        Lease = r.Lease is { } l ? Of(l) : null,
        Durable = r.Durable is { } g ? new DurableGrant(g.TimeoutMs, g.Persistent) : null,
    };

    private static V1.LeaseGrant Of(LeaseGrant l) => new()
    {
        Id = Of(l.Id), State = (uint)l.State, Epoch = l.Epoch, Breaking = l.Breaking, Version = l.Version, ParentKey = Bytes(l.ParentKey),
        BreakTo = (uint)l.BreakTo,
    };

    private static LeaseGrant Of(V1.LeaseGrant l) =>
        new(Of(l.Id), (LeaseState)l.State, (ushort)l.Epoch, l.Breaking, l.Version, Guid(l.ParentKey)) { BreakTo = (LeaseState)l.BreakTo };

    public static V1.HeldOpen Of(ReassertedOpen o)
    {
        var m = new V1.HeldOpen
        {
            Request = Of(o.Request), Oplock = o.Oplock, Lease = o.Lease is { } l ? Of(l) : null,
            Durable = o.Durable is { } g ? new V1.DurableGrant { TimeoutMs = g.TimeoutMs, Persistent = g.Persistent } : null,
        };
        m.Locks.AddRange(o.Locks.Select(Of));
        return m;
    }

    public static ReassertedOpen Of(V1.HeldOpen m) => new(Of(m.Request), (byte)m.Oplock, m.Lease is { } l ? Of(l) : null,
        m.Locks.Select(Of).ToArray(), m.Durable is { } g ? new DurableGrant(g.TimeoutMs, g.Persistent) : null);

    public static V1.CloseResult Of(CloseOutcome o) => new() { DeleteNow = o.DeleteNow, WasLast = o.WasLast, Lease = o.Lease is { } l ? Of(l) : null };
    public static CloseOutcome Of(V1.CloseResult r) => new(r.DeleteNow, r.WasLast, r.Lease is { } l ? Of(l) : null);

    public static V1.ReconnectCall Of(ReconnectRequest q, FileKey file) => new()
    {
        File = Of(file), Open = q.Open.Value, Version = q.Version, CreateGuid = Bytes(q.CreateGuid), ClientGuid = Bytes(q.ClientGuid), UserSid = q.UserSid,
        LeaseKey = q.LeaseKey is { } k ? ByteString.CopyFrom(k.ToByteArray()) : ByteString.Empty, Path = q.Path, PersistentFlag = q.PersistentFlag,
        Owner = q.Owner, SessionId = q.SessionId,
    };

    public static ReconnectRequest Of(V1.ReconnectCall c) => new()
    {
        Open = new OpenId(c.Open), Share = c.File.Share, Version = c.Version, CreateGuid = Guid(c.CreateGuid), ClientGuid = Guid(c.ClientGuid),
        UserSid = c.UserSid, LeaseKey = c.LeaseKey.Length == 16 ? Guid(c.LeaseKey) : null, Path = c.Path, PersistentFlag = c.PersistentFlag,
        Owner = c.Owner, SessionId = c.SessionId,
    };

    public static V1.DurableRecord Of(DurableOpenRecord r)
    {
        var m = new V1.DurableRecord
        {
            Open = r.Id.Value, File = Of(r.File), Path = r.Path, ClientGuid = Bytes(r.ClientGuid), CreateGuid = Bytes(r.CreateGuid),
            AppInstanceId = Bytes(r.AppInstanceId), SessionId = r.SessionId, UserName = r.UserName, UserSid = r.UserSid, Access = (uint)r.Access,
            ShareAccess = (uint)r.ShareAccess, CreateOptions = r.CreateOptions, IsDirectory = r.IsDirectory, DeleteOnClose = r.DeleteOnClose,
            DurableVersion = r.DurableVersion, Persistent = r.Persistent, TimeoutMs = r.TimeoutMs, Oplock = r.Oplock, Position = r.Position,
            Node = r.Node, DisconnectedAtMs = r.DisconnectedAtMs ?? 0, Disconnected = r.DisconnectedAtMs is not null, LockSequences = r.LockSequences,
            Lease = r.Lease is { } l ? new V1.LeaseGrant { Id = Of(l.Id), State = (uint)l.State, Epoch = l.Epoch, Version = l.Version, ParentKey = Bytes(l.ParentKey) } : null,
        };
        m.Locks.AddRange(r.Locks.Select(Of));
        return m;
    }

    public static DurableOpenRecord Of(V1.DurableRecord m)
    {
        var file = Of(m.File);
        return new DurableOpenRecord
        {
            Id = new OpenId(m.Open), File = file, Path = m.Path, ClientGuid = Guid(m.ClientGuid), CreateGuid = Guid(m.CreateGuid),
            AppInstanceId = Guid(m.AppInstanceId), SessionId = m.SessionId, UserName = m.UserName, UserSid = m.UserSid, Access = (AccessMask)m.Access,
            ShareAccess = (ShareAccess)m.ShareAccess, CreateOptions = m.CreateOptions, IsDirectory = m.IsDirectory, DeleteOnClose = m.DeleteOnClose,
            DurableVersion = m.DurableVersion, Persistent = m.Persistent, TimeoutMs = m.TimeoutMs, Oplock = (byte)m.Oplock, Position = m.Position,
            Node = m.Node, DisconnectedAtMs = m.Disconnected ? m.DisconnectedAtMs : null, LockSequences = m.LockSequences,
            Lease = m.Lease is { } l ? new LeaseRecord(Of(l.Id), file, (LeaseState)l.State, (ushort)l.Epoch, l.Version, Guid(l.ParentKey)) : null,
            Locks = m.Locks.Select(Of).ToArray(),
        };
    }
}
