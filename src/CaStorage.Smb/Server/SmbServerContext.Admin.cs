using CaStorage.Core.Metrics;
using CaStorage.Smb.Protocol;
using CaStorage.State;
using CaStorage.State.Inspection;

namespace CaStorage.Smb.Server;

/// <summary>
/// The operators' view of this node's wire state (the admin API's seam, <see cref="ISessionDirectory"/>): sessions,
/// their trees and opens as plain records, closing an open or ending a session from outside a client request, the
/// drain switch, and the wire layer's metrics.
/// </summary>
public sealed partial class SmbServerContext : ISessionDirectory
{
    private readonly Lock _metricsLock = new();
    private SmbMetrics? _metrics;
    private volatile bool _draining;

    /// <summary>Counters, histograms and gauges of this node; the host may add its own families.</summary>
    public MetricsRegistry MetricsRegistry => Metrics.Registry;

    internal SmbMetrics Metrics => _metrics ?? InitMetrics();

    private SmbMetrics InitMetrics()
    {
        lock (_metricsLock)
            return _metrics ??= new SmbMetrics(new MetricsRegistry(), this);
    }

    public int ConnectionCount => Notifier.ConnectionCount;

    public bool Draining
    {
        get => _draining;
        set => _draining = value;
    }

    public IReadOnlyList<SessionView> ListSessions() => _sessions.Values.Select(ViewOf).OrderBy(s => s.Id).ToArray();

    public IReadOnlyList<TreeConnectView> ListTreeConnects() =>
        _sessions.Values.SelectMany(s => s.Trees.Select(t => new TreeConnectView(s.Id, t.Id, t.IsPipe ? "IPC$" : t.Share.Name, UserOf(s),
            s.Opens.Count(o => o.Tree == t), t.EncryptData)))
        .OrderBy(t => t.SessionId).ThenBy(t => t.TreeId).ToArray();

    public IReadOnlyList<OpenView> ListOpens() =>
        _sessions.Values.SelectMany(s => s.Opens).Where(o => Volatile.Read(ref o.Closed) == 0).Select(ViewOf)
        .OrderBy(o => o.SessionId).ThenBy(o => o.VolatileId).ToArray();

    internal int CountOpens(Func<OpenView, bool> predicate)
    {
        var n = 0;
        foreach (var s in _sessions.Values)
            foreach (var o in s.Opens)
                if (Volatile.Read(ref o.Closed) == 0 && predicate(ViewOf(o))) n++;
        return n;
    }

    public async ValueTask<OpenView?> CloseOpenAsync(OpenId open)
    {
        var target = _sessions.Values.SelectMany(s => s.Opens).FirstOrDefault(o => o.Id == open);
        if (target is null) return null;
        var view = ViewOf(target);
        // The same path as a client's CLOSE: state tier first (locks, lease, delete-on-close), then the VFS handle.
        // The client learns of it on its next request on the handle: STATUS_FILE_CLOSED.
        await target.Session.Connection.CloseOpenAsync(target).ConfigureAwait(false);
        return view;
    }

    public async ValueTask<LogoffResult?> LogoffAsync(ulong sessionId)
    {
        if (!_sessions.TryGetValue(sessionId, out var session)) return null;
        var view = ViewOf(session);
        var connection = session.Connection;
        await connection.BetweenRequestsAsync(async () =>
        {
            await connection.LogoffSessionAsync(session).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        return new LogoffResult(view, view.OpenCount);
    }

    private static string UserOf(SmbSession s) => s.User?.Name ?? "";

    private static SessionView ViewOf(SmbSession s)
    {
        var c = s.Connection;
        return new SessionView(s.Id, UserOf(s), s.User?.Domain ?? "", c.RemoteEndPoint?.ToString() ?? "", DialectName(c.Dialect), s.SigningRequired,
            s.EncryptData || s.EncryptionRequired, s.Opens.Count, s.Trees.Count, s.Channels.Count, c.ClientGuid, s.IsGuest, s.IsAnonymous,
            s.State switch { SessionState.InProgress => "in-progress", SessionState.Valid => "valid", _ => "expired" });
    }

    private static OpenView ViewOf(SmbOpen o) => new(o.Id, o.VolatileId, o.Session.Id, o.Tree.Id, o.Tree.ShareOrNull?.Name ?? "IPC$",
        o.File.Path, UserOf(o.Session), o.Session.Connection.RemoteEndPoint?.ToString() ?? "", o.Access, o.OplockLevel, o.Lease, o.Key,
        o.IsDirectory, Durable: o.Durable is not null, Persistent: o.Durable?.Persistent == true, Disconnected: false);

    /// <summary>"3.1.1" for 0x0311.</summary>
    private static string DialectName(ushort dialect) => dialect switch
    {
        SmbDialect.Smb202 => "2.0.2",
        SmbDialect.Smb210 => "2.1",
        SmbDialect.Smb300 => "3.0",
        SmbDialect.Smb302 => "3.0.2",
        SmbDialect.Smb311 => "3.1.1",
        0 => "",
        _ => $"0x{dialect:x4}",
    };
}
