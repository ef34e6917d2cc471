using System.Diagnostics;
using CaStorage.Bench;

// Load generator for bench/locking.sh. Not a test: it prints figures.
//
//   CaStorage.Bench locks --host H --port P [--depth 1] [--seconds 5] [--warmup 1]
//       lock+unlock pairs per second on one open from one client (one connection). With --depth D, D
//       independent lock/unlock sequences (each on its own byte) are kept in flight on the connection.
//   CaStorage.Bench opens --host H --port P [--clients 8] [--seconds 5] [--warmup 1]
//       CREATE (open-if) + CLOSE pairs per second of one file by N clients, each on its own connection
//       and session, each strictly sequential.
//   CaStorage.Bench files --host H --port P [--clients 8] [--seconds 5] [--warmup 1] [--durable none|durable|persistent]
//                   [--files-per-dir 0]
//       CREATE of a new file (FILE_CREATE, a unique name, in a new directory of this run: --file, default
//       bench-files-PID) + WRITE 4 KiB + CLOSE, files per second by N clients, each
//       on its own connection and session, each strictly sequential. --durable persistent adds a DH2Q context with
//       the persistent flag; durable adds a DH2Q without it and asks for a batch oplock. The grants the server
//       answered are counted and printed ("GRANTS ..."), with the mean latency of each step. With --metrics URL
//       (CaStorage's GET /metrics), the state store's commit counters are read at the start and the end of the
//       measured window and "STORE commits_per_s X batch_mean Y commit_ms_mean Z" is printed. With
//       --files-per-dir M > 0, each client puts its files in subdirectories of its own, a new one every M files,
//       so that no directory grows large (a create of a new name costs a scan of its directory for a name that
//       differs only in case, on both servers).
//   CaStorage.Bench lockers --host H --port P [--clients 8] [--seconds 5] [--warmup 1]
//       lock+unlock pairs per second by N clients, each on its own connection, session and file, each strictly
//       sequential (behind a cluster's front address the clients spread over the nodes).
//   CaStorage.Bench hold --host H --port P [--clients 8] [--count 10000] [--durable persistent] [--hold 30]
//       opens --count new files (FILE_CREATE, DH2Q as with files) over N connections and keeps them open: prints
//       "HOLDING <opens> persistent <granted>" once all are open, then waits --hold seconds or until stdin closes,
//       and closes them. (A cluster's nodes' memory is read meanwhile.)
//   common: --user testuser --pass Passw0rd! --share share --file NAME
//
// Output: "RESULT <metric> <value>" lines (bench/locking.sh reads them), plus a human line on stderr.
var opts = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["host"] = "127.0.0.1", ["port"] = "445", ["user"] = "testuser", ["pass"] = "Passw0rd!", ["share"] = "share",
    ["seconds"] = "5", ["warmup"] = "1", ["depth"] = "1", ["clients"] = "8", ["file"] = "", ["durable"] = "none", ["metrics"] = "", ["files-per-dir"] = "0",
    ["count"] = "10000", ["hold"] = "30",
};
if (args.Length == 0 || args[0] is not ("locks" or "opens" or "files" or "lockers" or "hold"))
{
    Console.Error.WriteLine("usage: CaStorage.Bench locks|opens|files|lockers|hold --host H --port P [--user U --pass P --share S] [--seconds N] [--warmup N] [--depth D] [--clients N] [--file NAME] [--durable none|durable|persistent] [--metrics URL] [--files-per-dir M]");
    return 2;
}
for (var i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length || !opts.ContainsKey(args[i][2..]))
    {
        Console.Error.WriteLine($"bad argument: {args[i]}");
        return 2;
    }
    opts[args[i][2..]] = args[++i];
}
var host = opts["host"];
var port = int.Parse(opts["port"]);
var seconds = double.Parse(opts["seconds"], System.Globalization.CultureInfo.InvariantCulture);
var warmup = double.Parse(opts["warmup"], System.Globalization.CultureInfo.InvariantCulture);
// files: the directory the files go to (DIR\DIR-cCLIENT-N.dat, or DIR\cCLIENT-D\DIR-cCLIENT-N.dat).
var file = opts["file"].Length > 0 ? opts["file"] : $"bench-{args[0]}-{Environment.ProcessId}" + (args[0] == "files" ? "" : ".dat");

try
{
    if (args[0] == "locks")
    {
        var depth = int.Parse(opts["depth"]);
        if (depth is < 1 or > 64) throw new ArgumentException("--depth must be 1..64");
        using var c = BenchClient.Connect(host, port, opts["user"], opts["pass"], opts["share"]);
        var fid = c.Create(file);
        LockRun(c, fid, depth, warmup);
        var (pairs, elapsed) = LockRun(c, fid, depth, seconds);
        c.Close(fid);
        if (c.Interims > 0) Console.Error.WriteLine($"note: {c.Interims} interim STATUS_PENDING answers");
        var rate = pairs / elapsed;
        Console.Error.WriteLine($"locks depth {depth}: {pairs} lock+unlock pairs in {elapsed:F2} s = {rate:F0}/s ({1e6 / rate * depth:F1} µs per pair per slot); {ClientCpu()}");
        Console.WriteLine(FormattableString.Invariant($"RESULT lock_pairs_per_s_depth{depth} {rate:F0}"));
    }
    else if (args[0] == "lockers")
    {
        var n = int.Parse(opts["clients"]);
        var clients = new BenchClient[n];
        var fids = new byte[n][];
        try
        {
            for (var i = 0; i < n; i++)
            {
                clients[i] = BenchClient.Connect(host, port, opts["user"], opts["pass"], opts["share"]);
                fids[i] = clients[i].Create($"{file}-c{i}");
            }
            var (pairs, elapsed) = RunClients(clients, warmup, seconds, (idx, c, _) =>
            {
                c.SendLock(fids[idx], 0, 1, BenchClient.LockExclusive | BenchClient.LockFailImmediately);
                Expect(c, "LOCK");
                c.SendLock(fids[idx], 0, 1, BenchClient.LockUnlock);
                Expect(c, "UNLOCK");
            });
            for (var i = 0; i < n; i++) clients[i].Close(fids[i]);
            var rate = pairs / elapsed;
            Console.Error.WriteLine($"lockers {n} clients: {pairs} lock+unlock pairs in {elapsed:F2} s = {rate:F0}/s; {ClientCpu()}");
            Console.WriteLine(FormattableString.Invariant($"RESULT lock_pairs_per_s_clients{n} {rate:F0}"));
        }
        finally
        {
            foreach (var c in clients) c?.Dispose();
        }
    }
    else if (args[0] == "hold")
    {
        var durable = DurabilityOf(opts["durable"]);
        var n = int.Parse(opts["clients"]);
        var count = int.Parse(opts["count"]);
        var clients = new BenchClient[n];
        var held = new List<(BenchClient Client, byte[] Fid)>(count);
        try
        {
            for (var i = 0; i < n; i++)
                clients[i] = BenchClient.Connect(host, port, opts["user"], opts["pass"], opts["share"], BenchClient.CapPersistentHandles);
            clients[0].CreateDirectory(file);
            long persistent = 0;
            for (var k = 0; k < count; k++)
            {
                var c = clients[k % n];
                c.SendCreate($@"{file}\h{k}.dat", disposition: 2, oplock: 0, durable);
                var m = c.Receive();
                if (m.Status != BenchClient.StatusSuccess) throw new InvalidOperationException($"CREATE #{k} failed: 0x{m.Status:X8}");
                if (BenchClient.GrantOf(m).Persistent) persistent++;
                held.Add((c, BenchClient.FileIdOf(m).ToArray()));
            }
            Console.WriteLine($"HOLDING {held.Count} persistent {persistent}");
            Console.Out.Flush();
            // Until --hold seconds pass or whoever started this closes stdin.
            var stdinClosed = Task.Run(() => { while (Console.In.Read() >= 0) { } });
            stdinClosed.Wait(TimeSpan.FromSeconds(double.Parse(opts["hold"], System.Globalization.CultureInfo.InvariantCulture)));
            foreach (var (c, fid) in held) c.Close(fid);
        }
        finally
        {
            foreach (var c in clients) c?.Dispose();
        }
    }
    else if (args[0] == "files")
    {
        var durable = DurabilityOf(opts["durable"]);
        var n = int.Parse(opts["clients"]);
        var clients = new BenchClient[n];
        try
        {
            for (var i = 0; i < n; i++)
                clients[i] = BenchClient.Connect(host, port, opts["user"], opts["pass"], opts["share"], BenchClient.CapPersistentHandles);
            clients[0].CreateDirectory(file);
            var stats = new FileStats[n];
            var data = new byte[4096];
            Random.Shared.NextBytes(data);
            using var metrics = opts["metrics"].Length > 0 ? new StoreMetrics(opts["metrics"]) : null;
            var perDir = int.Parse(opts["files-per-dir"]);
            var (files, elapsed) = RunClients(clients, warmup, seconds, (idx, c, k) =>
                {
                    var dir = file;
                    if (perDir > 0)
                    {
                        dir = $@"{file}\c{idx}-{k / perDir}";
                        if (k % perDir == 0) c.CreateDirectory(dir);
                    }
                    CreateWriteClose(c, $@"{dir}\{file}-c{idx}-{k}.dat", durable, data, ref stats[idx]);
                },
                metrics is null ? null : metrics.Sample);
            var rate = files / elapsed;
            var total = stats.Aggregate(default(FileStats), FileStats.Add);
            var interims = clients.Sum(c => c.Interims);
            if (interims > 0) Console.Error.WriteLine($"note: {interims} interim STATUS_PENDING answers");
            var us = (long ticks) => total.Files == 0 ? 0 : ticks * 1e6 / Stopwatch.Frequency / total.Files;
            Console.Error.WriteLine(FormattableString.Invariant(
                $"files {n} clients, durable {opts["durable"]}: {files} create+write+close in {elapsed:F2} s = {rate:F0}/s; mean µs create {us(total.CreateTicks):F0}, write {us(total.WriteTicks):F0}, close {us(total.CloseTicks):F0}; {ClientCpu()}"));
            Console.WriteLine($"GRANTS files {total.Files} durable {total.Durable} persistent {total.Persistent} batch_oplock {total.Batch}");
            if (metrics?.Summary(elapsed) is { } store) Console.WriteLine(store);
            Console.WriteLine(FormattableString.Invariant($"RESULT files_per_s_clients{n} {rate:F0}"));
        }
        finally
        {
            foreach (var c in clients) c?.Dispose();
        }
    }
    else
    {
        var n = int.Parse(opts["clients"]);
        var clients = new BenchClient[n];
        try
        {
            for (var i = 0; i < n; i++) clients[i] = BenchClient.Connect(host, port, opts["user"], opts["pass"], opts["share"]);
            // Create the file once so every client opens an existing file.
            clients[0].Close(clients[0].Create(file));
            // Scratch FileId space per client: each runs on its own thread.
            var fids = Enumerable.Range(0, n).Select(_ => new byte[16]).ToArray();
            var (pairs, elapsed) = RunClients(clients, warmup, seconds, (i, c, _) => OpenClose(c, file, fids[i]));
            var rate = pairs / elapsed;
            var interims = clients.Sum(c => c.Interims);
            if (interims > 0) Console.Error.WriteLine($"note: {interims} interim STATUS_PENDING answers");
            Console.Error.WriteLine($"opens {n} clients: {pairs} open+close pairs in {elapsed:F2} s = {rate:F0}/s; {ClientCpu()}");
            Console.WriteLine(FormattableString.Invariant($"RESULT open_close_per_s_clients{n} {rate:F0}"));
        }
        finally
        {
            foreach (var c in clients) c?.Dispose();
        }
    }
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"bench failed: {e.GetType().Name}: {e.Message}");
    return 1;
}

static BenchClient.Durability? DurabilityOf(string name) => name switch
{
    "none" => null,
    "durable" => BenchClient.Durability.Durable,
    "persistent" => BenchClient.Durability.Persistent,
    _ => throw new ArgumentException($"--durable must be none, durable or persistent, not '{name}'"),
};

// The client's own CPU use over its whole life (warm-up and setup included): a check that it is not the bottleneck.
static string ClientCpu()
{
    using var p = Process.GetCurrentProcess();
    var wall = DateTime.Now - p.StartTime;
    return FormattableString.Invariant($"client CPU {p.TotalProcessorTime.TotalSeconds:F2} s over {wall.TotalSeconds:F2} s wall ({100 * p.TotalProcessorTime / wall:F0}% of one core)");
}

// D independent sequences: slot k locks byte k exclusively (fail immediately), then unlocks it, again and again.
static (long Pairs, double Seconds) LockRun(BenchClient c, byte[] fid, int depth, double seconds)
{
    const int Ring = 1024;
    var slotOf = new int[Ring];
    var unlocking = new bool[depth];
    var start = Stopwatch.GetTimestamp();
    var end = start + (long)(seconds * Stopwatch.Frequency);
    long pairs = 0;
    var active = depth;
    for (var k = 0; k < depth; k++)
        slotOf[c.SendLock(fid, (ulong)k, 1, BenchClient.LockExclusive | BenchClient.LockFailImmediately) % Ring] = k;
    long last = start;
    while (active > 0)
    {
        var m = c.Receive();
        var k = slotOf[m.MessageId % Ring];
        if (m.Status != BenchClient.StatusSuccess)
            throw new InvalidOperationException($"{(unlocking[k] ? "UNLOCK" : "LOCK")} of byte {k} failed: 0x{m.Status:X8}");
        if (!unlocking[k])
        {
            unlocking[k] = true;
            slotOf[c.SendLock(fid, (ulong)k, 1, BenchClient.LockUnlock) % Ring] = k;
            continue;
        }
        unlocking[k] = false;
        pairs++;
        last = Stopwatch.GetTimestamp();
        if (last < end)
            slotOf[c.SendLock(fid, (ulong)k, 1, BenchClient.LockExclusive | BenchClient.LockFailImmediately) % Ring] = k;
        else
            active--;
    }
    return (pairs, (double)(last - start) / Stopwatch.Frequency);
}

// One CREATE (open-if) + CLOSE of an existing file. fid: the client's own scratch space.
static void OpenClose(BenchClient c, string file, byte[] fid)
{
    c.SendCreate(file);
    var m = c.Receive();
    if (m.Status != BenchClient.StatusSuccess) throw new InvalidOperationException($"CREATE failed: 0x{m.Status:X8}");
    BenchClient.FileIdOf(m).CopyTo(fid);
    c.SendClose(fid);
    Expect(c, "CLOSE");
}

// One CREATE of a new file (with the DH2Q context asked for) + WRITE of data + CLOSE, each step timed.
static void CreateWriteClose(BenchClient c, string name, BenchClient.Durability? durable, byte[] data, ref FileStats s)
{
    Span<byte> fid = stackalloc byte[16];
    var t0 = Stopwatch.GetTimestamp();
    c.SendCreate(name, disposition: 2, oplock: durable == BenchClient.Durability.Durable ? (byte)0x09 : (byte)0, durable);
    var m = c.Receive();
    if (m.Status != BenchClient.StatusSuccess) throw new InvalidOperationException($"CREATE {name} failed: 0x{m.Status:X8}");
    BenchClient.FileIdOf(m).CopyTo(fid);
    var (oplock, isDurable, isPersistent) = BenchClient.GrantOf(m);
    var t1 = Stopwatch.GetTimestamp();
    c.SendWrite(fid, 0, data);
    Expect(c, "WRITE");
    var t2 = Stopwatch.GetTimestamp();
    c.SendClose(fid);
    Expect(c, "CLOSE");
    var t3 = Stopwatch.GetTimestamp();
    s.Files++;
    if (isDurable) s.Durable++;
    if (isPersistent) s.Persistent++;
    if (oplock == 0x09) s.Batch++;
    s.CreateTicks += t1 - t0;
    s.WriteTicks += t2 - t1;
    s.CloseTicks += t3 - t2;
}

// Waits for the answer to the request just sent; it must succeed.
static void Expect(BenchClient c, string what)
{
    var r = c.Receive();
    if (r.Status != BenchClient.StatusSuccess) throw new InvalidOperationException($"{what} failed: 0x{r.Status:X8}");
}

// N threads, one client each, each calling step(client index, client, iteration number) in a loop, strictly
// sequentially. Steps completed inside the measured window (after the warm-up, before the end) are counted.
// atEdges, if given, runs on this thread at the start and at the end of the measured window.
static (long Steps, double Seconds) RunClients(BenchClient[] clients, double warmup, double seconds, Action<int, BenchClient, long> step,
    Action? atEdges = null)
{
    var counts = new long[clients.Length * 16]; // one cache line apart
    Exception? failure = null;
    using var go = new ManualResetEventSlim();
    var t1 = 0L;
    var tEnd = 0L;
    var threads = new Thread[clients.Length];
    for (var i = 0; i < clients.Length; i++)
    {
        var idx = i;
        threads[i] = new Thread(() =>
        {
            try
            {
                go.Wait();
                var c = clients[idx];
                long n = 0;
                for (long k = 0; ; k++)
                {
                    step(idx, c, k);
                    var now = Stopwatch.GetTimestamp();
                    if (now >= tEnd) break;
                    if (now >= t1) n++;
                }
                counts[idx * 16] = n;
            }
            catch (Exception e)
            {
                failure ??= e;
            }
        }) { IsBackground = true, Name = $"client{idx}" };
        threads[i].Start();
    }
    var t0 = Stopwatch.GetTimestamp();
    t1 = t0 + (long)(warmup * Stopwatch.Frequency);
    tEnd = t1 + (long)(seconds * Stopwatch.Frequency);
    go.Set();
    if (atEdges is not null)
    {
        SleepUntil(t1);
        atEdges();
        SleepUntil(tEnd);
        atEdges();
    }
    foreach (var t in threads)
    {
        if (!t.Join(TimeSpan.FromSeconds(warmup + seconds + 60))) throw new TimeoutException($"{t.Name} did not finish");
    }
    if (failure is not null) throw failure;
    return (counts.Sum(), seconds);
}

static void SleepUntil(long timestamp)
{
    var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
    if (left > TimeSpan.Zero) Thread.Sleep(left);
}

// Per client: files done and what the server granted; time spent in each step (Stopwatch ticks).
internal struct FileStats
{
    public long Files, Durable, Persistent, Batch, CreateTicks, WriteTicks, CloseTicks;

    public static FileStats Add(FileStats a, FileStats b) => new()
    {
        Files = a.Files + b.Files, Durable = a.Durable + b.Durable, Persistent = a.Persistent + b.Persistent, Batch = a.Batch + b.Batch,
        CreateTicks = a.CreateTicks + b.CreateTicks, WriteTicks = a.WriteTicks + b.WriteTicks, CloseTicks = a.CloseTicks + b.CloseTicks,
    };
}

// CaStorage's state store histograms (castorage_store_commit_*: _count transactions, _sum seconds or mutations),
// read from its Prometheus endpoint.
internal sealed class StoreMetrics(string url) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly List<(double Batches, double Mutations, double Seconds)> _samples = [];

    public void Sample()
    {
        double Read(string text, string name) =>
            text.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
                .Select(l => double.Parse(l[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault(double.NaN);
        try
        {
            var text = _http.GetStringAsync(url).GetAwaiter().GetResult();
            _samples.Add((Read(text, "castorage_store_commit_duration_seconds_count"), Read(text, "castorage_store_commit_batch_size_sum"),
                Read(text, "castorage_store_commit_duration_seconds_sum")));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"note: {url}: {e.Message}");
        }
    }

    /// <summary>Commits per second, mean batch size and mean commit time over the window; null if not read twice.</summary>
    public string? Summary(double seconds)
    {
        if (_samples.Count != 2) return null;
        var (b0, m0, s0) = _samples[0];
        var (b1, m1, s1) = _samples[1];
        var batches = b1 - b0;
        return FormattableString.Invariant(
            $"STORE commits_per_s {batches / seconds:F0} batch_mean {(batches > 0 ? (m1 - m0) / batches : 0):F2} commit_ms_mean {(batches > 0 ? (s1 - s0) * 1000 / batches : 0):F2}");
    }

    public void Dispose() => _http.Dispose();
}
