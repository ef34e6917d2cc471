using System.Collections.Concurrent;
using System.Diagnostics;
using CaStorage.Core;
using CaStorage.Core.Metrics;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server;

/// <summary>
/// Request counters and latency histograms of the wire layer, plus gauges read at scrape time. The per-request cost
/// is two timestamps, one dictionary read and three interlocked adds; nothing is allocated once a (command, status)
/// pair has been seen.
/// </summary>
internal sealed class SmbMetrics
{
    /// <summary>Latency buckets in seconds: 50 µs (a cached metadata reply) to 10 s (a blocking lock, a lease break).</summary>
    private static readonly double[] LatencyBounds =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly CounterFamily _requests;
    private readonly ConcurrentDictionary<ulong, Counter> _byCommandAndStatus = new();
    private readonly Histogram?[] _latency;
    private readonly Counter _bytesRead;
    private readonly Counter _bytesWritten;
    private readonly Counter _reclaimedDurable;
    private readonly Counter _reclaimedPersistent;

    public SmbMetrics(MetricsRegistry registry, SmbServerContext server)
    {
        Registry = registry;
        _requests = registry.CreateCounter("castorage_smb_requests_total",
            "SMB2 requests by command and the status of their response (STATUS_PENDING: the interim response of a request that went async).",
            "command", "status");
        var latency = registry.CreateHistogram("castorage_smb_request_duration_seconds",
            "Time from dispatch to response of SMB2 requests, by command (async requests: until the interim response).",
            LatencyBounds, Stopwatch.Frequency, "command");
        _latency = new Histogram?[CommandNames.Length];
        for (var i = 0; i < CommandNames.Length; i++) _latency[i] = latency.WithLabels(CommandNames[i]);
        _bytesRead = registry.CreateCounter("castorage_smb_read_bytes_total", "Bytes returned by SMB2 READ.").WithLabels();
        _bytesWritten = registry.CreateCounter("castorage_smb_written_bytes_total", "Bytes written by SMB2 WRITE.").WithLabels();
        registry.CreateGauge("castorage_smb_connections", "Open SMB client connections.", () => server.ConnectionCount);
        registry.CreateGauge("castorage_smb_sessions", "SMB sessions (authenticated or authenticating).", () => server.SessionCount);
        registry.CreateGauge("castorage_smb_opens", "Open handles on this node.", () => server.CountOpens(static _ => true));
        registry.CreateGauge("castorage_smb_opens_durable", "Connected open handles that are durable (v1 or v2).", () => server.CountOpens(static o => o.Durable));
        registry.CreateGauge("castorage_smb_opens_persistent", "Connected open handles that are persistent (CA shares).", () => server.CountOpens(static o => o.Persistent));
        registry.CreateGauge("castorage_smb_opens_disconnected", "Durable or persistent handles kept for a client that is disconnected.", () => server.FileState.DisconnectedOpenCount);
        // Group commit: mutations per batch rise with load; commit time is what a durable reply waits for.
        server.StoreWriter?.ExportTo(registry);
        var reclaimed = registry.CreateCounter("castorage_smb_handles_reclaimed_total",
            "Durable and persistent handles a client reconnected to (after a network loss, a node failure or a move), by kind.", "kind");
        _reclaimedDurable = reclaimed.WithLabels("durable");
        _reclaimedPersistent = reclaimed.WithLabels("persistent");
        registry.CreateGauge("castorage_state_active_files", "Files with coordination state (file actors) in the state tier.", () => server.FileState.ActiveFileCount);
        registry.CreateGauge("castorage_draining", "1 while the node refuses new client connections (drain).", () => server.Draining ? 1 : 0);
    }

    public MetricsRegistry Registry { get; }

    public void RequestCompleted(SmbCommand command, NtStatus status, long elapsedTicks)
    {
        var key = ((ulong)command << 32) | (uint)status;
        if (!_byCommandAndStatus.TryGetValue(key, out var counter))
            counter = _byCommandAndStatus.GetOrAdd(key, static (k, family) => family.WithLabels(NameOf((SmbCommand)(k >> 32)), ((NtStatus)(uint)k).ToWireName()), _requests);
        counter.Increment();
        if ((int)command < _latency.Length) _latency[(int)command]!.Observe(elapsedTicks);
    }

    public void HandleReclaimed(bool persistent) => (persistent ? _reclaimedPersistent : _reclaimedDurable).Increment();

    public void BytesRead(int n) => _bytesRead.Add(n);

    public void BytesWritten(int n) => _bytesWritten.Add(n);

    /// <summary>MS-SMB2 command names as protocol analyzers print them.</summary>
    private static readonly string[] CommandNames =
    [
        "NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT", "CREATE", "CLOSE", "FLUSH", "READ", "WRITE",
        "LOCK", "IOCTL", "CANCEL", "ECHO", "QUERY_DIRECTORY", "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO", "OPLOCK_BREAK",
    ];

    private static string NameOf(SmbCommand command) => (int)command < CommandNames.Length ? CommandNames[(int)command] : $"0x{(ushort)command:x4}";
}
