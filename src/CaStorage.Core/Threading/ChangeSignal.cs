namespace CaStorage.Core.Threading;

/// <summary>
/// "Something changed": waiters take <see cref="Next"/>, re-check the state they care about, then await it; each
/// <see cref="Raise"/> completes the current task and starts a new one, so every waiter wakes once per change
/// without polling. Take <see cref="Next"/> before reading the state, or a change in between is missed.
/// </summary>
public sealed class ChangeSignal
{
    private TaskCompletionSource _next = New();

    /// <summary>Completes at the next <see cref="Raise"/>.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    public void Raise() => Interlocked.Exchange(ref _next, New()).TrySetResult();

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
