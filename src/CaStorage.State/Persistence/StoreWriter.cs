using System.Diagnostics;
using System.Threading.Channels;
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
                catch (Exception ex)
                {
                    error = ex;
                    await Task.Delay(50 * (attempt + 1)).ConfigureAwait(false);
                }
            }
            Interlocked.Add(ref _commitTicks, Stopwatch.GetTimestamp() - start);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _mutations, batch.Count);
            if (error is not null) _log.LogError(error, "state store {Kind}: a batch of {Count} mutations could not be committed", _store.Kind, batch.Count);
            foreach (var p in batch)
            {
                if (error is null) p.Done.TrySetResult();
                else p.Done.TrySetException(error);
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
