namespace CaStorage.State.Persistence;

/// <summary>
/// The persistent half of the state tier (ARCHITECTURE §2): durable and persistent opens with their byte-range locks
/// and leases, and the sessions they belong to. Two back ends (SQLite for one node, PostgreSQL for a cluster) share
/// one schema and one behaviour. Writes come in batches (group commit); every batch is one transaction.
/// </summary>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgresql" (logs, metrics).</summary>
    string Kind { get; }

    /// <summary>Creates or migrates the schema to <see cref="StoreSchema.CurrentVersion"/>; refuses a newer one.</summary>
    Task MigrateAsync(CancellationToken ct);

    /// <summary>Applies the mutations in order, atomically.</summary>
    Task ApplyAsync(IReadOnlyList<StoreMutation> batch, CancellationToken ct);

    /// <summary>The durable opens held by <paramref name="node"/> (all nodes when null), with locks and leases.</summary>
    Task<IReadOnlyList<DurableOpenRecord>> LoadOpensAsync(string? node, CancellationToken ct);

    /// <summary>The durable open a client created with this CreateGuid (replay detection on any node).</summary>
    Task<OpenLocation?> FindByCreateGuidAsync(Guid clientGuid, Guid createGuid, CancellationToken ct);

    /// <summary>The durable open that carries this App Instance Id.</summary>
    Task<OpenLocation?> FindByAppInstanceAsync(Guid appInstanceId, CancellationToken ct);

    /// <summary>The schema version the store is at (0 before migration).</summary>
    Task<int> SchemaVersionAsync(CancellationToken ct);
}

/// <summary>One change to the store. Snapshots, not deltas: replaying a batch twice leaves the same rows.</summary>
public abstract record StoreMutation;

/// <summary>Insert or replace an open with its locks and lease, and the session row it names.</summary>
public sealed record SaveOpen(DurableOpenRecord Open) : StoreMutation;

/// <summary>Remove an open, its locks, and its lease and session rows when no other open names them.</summary>
public sealed record DeleteOpen(State.OpenId Id) : StoreMutation;
