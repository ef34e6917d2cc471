using System.Collections.Concurrent;

namespace CaStorage.Vfs;

/// <summary>
/// One tree connect's view of a share's VFS stack, with typed per-module state
/// (Samba's SMB_VFS_HANDLE_SET_DATA / GET_DATA, keyed by the module instance so modules cannot collide).
/// </summary>
public sealed class VfsTreeContext : IAsyncDisposable
{
    private readonly ConcurrentDictionary<object, object> _state = new(ReferenceEqualityComparer.Instance);
    private int _disposed;

    public VfsTreeContext(VfsStack stack, VfsUser user)
    {
        Stack = stack;
        User = user;
    }

    public VfsStack Stack { get; }
    public string ShareName => Stack.ShareName;
    public VfsUser User { get; }

    /// <summary>The first module of the stack: callers always enter here.</summary>
    public IVfsOperations Ops => Stack.Top;

    public T GetState<T>(object module) where T : class =>
        _state.TryGetValue(module, out var v) ? (T)v : throw new InvalidOperationException($"no tree state for {module.GetType().Name}");

    public T? TryGetState<T>(object module) where T : class => _state.TryGetValue(module, out var v) ? v as T : null;

    public void SetState<T>(object module, T state) where T : class => _state[module] = state;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await Stack.Top.DisconnectAsync(this).ConfigureAwait(false);
        foreach (var v in _state.Values)
        {
            if (v is IAsyncDisposable ad) await ad.DisposeAsync().ConfigureAwait(false);
            else if (v is IDisposable d) d.Dispose();
        }
        _state.Clear();
    }
}
