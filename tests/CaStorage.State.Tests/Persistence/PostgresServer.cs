using System.Diagnostics;
using Npgsql;

namespace CaStorage.State.Tests.Persistence;

/// <summary>
/// A real PostgreSQL on loopback for the store tests, started once per test run with tests/lib/postgres.sh (no
/// mock). When PostgreSQL cannot be started the PostgreSQL tests fail; they never skip.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "castorage-pgtest-" + Guid.NewGuid().ToString("n")[..8]);
    private string? _connectionString;

    public string ConnectionString => _connectionString ?? throw new InvalidOperationException("PostgreSQL was not started");

    public async Task InitializeAsync() => _connectionString = (await RunScriptAsync("start", _dir).ConfigureAwait(false)).Trim();

    public async Task DisposeAsync()
    {
        await RunScriptAsync("stop", _dir).ConfigureAwait(false);
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A database of its own for one test (stores of different tests never see each other's rows).</summary>
    public async Task<string> NewDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("n")[..12];
        await using (var c = new NpgsqlConnection(ConnectionString))
        {
            await c.OpenAsync().ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    private static async Task<string> RunScriptAsync(string verb, string dir)
    {
        var script = Path.Combine(RepoRoot(), "tests", "lib", "postgres.sh");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(verb);
        psi.ArgumentList.Add(dir);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        if (p.ExitCode != 0) throw new InvalidOperationException($"postgres.sh {verb} failed: {await stderr.ConfigureAwait(false)}");
        return await stdout.ConfigureAwait(false);
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "CaStorage.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root (CaStorage.sln) not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
