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
//   common: --user testuser --pass Passw0rd! --share share --file NAME
//
// Output: "RESULT <metric> <value>" lines (bench/locking.sh reads them), plus a human line on stderr.
var opts = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["host"] = "127.0.0.1", ["port"] = "445", ["user"] = "testuser", ["pass"] = "Passw0rd!", ["share"] = "share",
    ["seconds"] = "5", ["warmup"] = "1", ["depth"] = "1", ["clients"] = "8", ["file"] = "",
};
if (args.Length == 0 || args[0] is not ("locks" or "opens"))
{
    Console.Error.WriteLine("usage: CaStorage.Bench locks|opens --host H --port P [--user U --pass P --share S] [--seconds N] [--warmup N] [--depth D] [--clients N] [--file NAME]");
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
var file = opts["file"].Length > 0 ? opts["file"] : $"bench-{args[0]}-{Environment.ProcessId}.dat";

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
    else
    {
        var n = int.Parse(opts["clients"]);
        var clients = new BenchClient[n];
        try
        {
            for (var i = 0; i < n; i++) clients[i] = BenchClient.Connect(host, port, opts["user"], opts["pass"], opts["share"]);
            // Create the file once so every client opens an existing file.
            clients[0].Close(clients[0].Create(file));
            var (pairs, elapsed) = OpenRun(clients, file, warmup, seconds);
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

// N threads, one client each: CREATE + CLOSE of the same file in a loop. Pairs completed inside the measured
// window (after the warm-up, before the end) are counted.
static (long Pairs, double Seconds) OpenRun(BenchClient[] clients, string file, double warmup, double seconds)
{
    var counts = new long[clients.Length * 16]; // one cache line apart
    Exception? failure = null;
    using var go = new ManualResetEventSlim();
    var t0 = 0L;
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
                var fid = new byte[16];
                while (true)
                {
                    c.SendCreate(file);
                    var m = c.Receive();
                    if (m.Status != BenchClient.StatusSuccess) throw new InvalidOperationException($"CREATE failed: 0x{m.Status:X8}");
                    BenchClient.FileIdOf(m).CopyTo(fid);
                    c.SendClose(fid);
                    var r = c.Receive();
                    if (r.Status != BenchClient.StatusSuccess) throw new InvalidOperationException($"CLOSE failed: 0x{r.Status:X8}");
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
    t0 = Stopwatch.GetTimestamp();
    t1 = t0 + (long)(warmup * Stopwatch.Frequency);
    tEnd = t1 + (long)(seconds * Stopwatch.Frequency);
    go.Set();
    foreach (var t in threads)
    {
        if (!t.Join(TimeSpan.FromSeconds(warmup + seconds + 60))) throw new TimeoutException($"{t.Name} did not finish");
    }
    if (failure is not null) throw failure;
    return (counts.Sum(), seconds);
}
