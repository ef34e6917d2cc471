using System.Diagnostics;
using System.Threading.Channels;
using CaStorage.Core.Metrics;
using Microsoft.Extensions.Logging;

namespace CaStorage.State.Persistence;

/// <summary>
/// Group commit: mutations from every file actor queue here; one loop takes whatever has queued while the previous
/// transaction ran and commits it as the next one, so under load many writes share one commit (ARCHITECTURE §2).
/// Order is kept: a mutation commits in the same or a later batch than one enqueued before it.
/// </summary>
public sealed class StoreWriter : IAsyncDisposable
{
    private const int MaxBatch = 512;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IStateStore _store;
    private readonly ILogger _log;
    private readonly Task _loop;
    private long _batches, _mutations, _commitTicks;

    private readonly record struct Pending(StoreMutation Mutation, TaskCompletionSource Done);

    public StoreWriter(IStateStore store, ILogger log)
    {
        _store = store;
        _log = log;
        _loop = Task.Run(RunAsync);
    }

    public IStateStore Store => _store;
    public long Batches => Interlocked.Read(ref _batches);
    public long Mutations => Interlocked.Read(ref _mutations);
    /// <summary>Total time spent committing (Stopwatch ticks), for the average commit latency.</summary>
    public TimeSpan CommitTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _commitTicks));

    /// <summary>Commit latency in seconds: 100 µs (SQLite in memory) to 10 s (a PostgreSQL failing over, retried).</summary>
    private static readonly double[] LatencyBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
    /// <summary>Mutations per transaction: 1 when idle, up to <see cref="MaxBatch"/> under load (group commit).</summary>
    private static readonly double[] BatchBounds = [1, 2, 4, 8, 16, 32, 64, 128, 256, MaxBatch];
    private (Histogram Latency, Histogram Size)? _metrics;

    /// <summary>Exports commit latency and batch size as histograms (their _count is the number of transactions).</summary>
    public void ExportTo(MetricsRegistry registry)
    {
        var latency = registry.CreateHistogram("castorage_store_commit_duration_seconds",
            "Time to commit one state store transaction (a durable or persistent reply waits for it), retries included.",
            LatencyBounds, Stopwatch.Frequency).WithLabels();
        var size = registry.CreateHistogram("castorage_store_commit_batch_size",
            "Mutations committed together in one state store transaction (group commit).", BatchBounds, 1).WithLabels();
        _metrics = (latency, size);
    }

    /// <summary>Queues a mutation; the task completes when its batch has committed (or faults if it could not).</summary>
    public Task Enqueue(StoreMutation m)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new Pending(m, done))) done.TrySetException(new ObjectDisposedException(nameof(StoreWriter)));
        return done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var mutations = new List<StoreMutation>(MaxBatch);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            mutations.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var p))
            {
                batch.Add(p);
                mutations.Add(p.Mutation);
            }
            var start = Stopwatch.GetTimestamp();
            Exception? error = null;
            // A failed commit is retried a few times (a busy SQLite file, a PostgreSQL fail-over) before giving up.
            for (var attempt = 0; attempt < 3; attempt++)
            {
                try
                {
                    await _store.ApplyAsync(mutations, CancellationToken.None).ConfigureAwait(false);
                    error = null;
                    break;
                }
                catch (StaleEpochException ex)
                {
                    // Not transient: retrying cannot help.
                    error = ex;
                    break;
                }
                catch (Exception ex)
                {
                    error = ex;
                    await Task.Delay(50 * (attempt + 1)).ConfigureAwait(false);
                }
            }
            var elapsed = Stopwatch.GetTimestamp() - start;
            Interlocked.Add(ref _commitTicks, elapsed);
            if (_metrics is var (latencyHistogram, sizeHistogram))
            {
                latencyHistogram.Observe(elapsed);
                sizeHistogram.Observe(batch.Count);
            }
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _mutations, batch.Count);
            if (error is null)
            {
                foreach (var p in batch) p.Done.TrySetResult();
                continue;
            }
            if (batch.Count == 1)
            {
                _log.LogError(error, "state store {Kind}: a mutation could not be committed", _store.Kind);
                batch[0].Done.TrySetException(error);
                continue;
            }
            // One bad mutation (a stale epoch after a shard moved) must not take the others of its batch with it:
            // each is tried on its own.
            foreach (var p in batch)
            {
                try
                {
                    await _store.ApplyAsync([p.Mutation], CancellationToken.None).ConfigureAwait(false);
                    p.Done.TrySetResult();
                }
                catch (Exception ex)
                {
                    _log.LogError(ex, "state store {Kind}: a mutation could not be committed", _store.Kind);
                    p.Done.TrySetException(ex);
                }
            }
        }
    }

    /// <summary>Commits what is queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
