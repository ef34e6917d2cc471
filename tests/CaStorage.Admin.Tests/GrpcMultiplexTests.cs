using CaStorage.Rpc;
using CaStorage.Rpc.Services;
using Grpc.Health.V1;
using Microsoft.Extensions.Logging.Abstractions;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace CaStorage.Admin.Tests;

/// <summary>Unary calls as frames of one Multiplex/Exchange stream (what cluster peers use), on a real Kestrel endpoint.</summary>
public sealed class GrpcMultiplexTests
{
    /// <summary>Health's Check descriptor with a handler that can wait, fail, and tell what it saw.</summary>
    private sealed class Probe
    {
        public readonly TaskCompletionSource Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource WaitCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Exchanges;
        public int Calls;

        public GrpcMethodTable Table(bool multiplex)
        {
            var table = new GrpcMethodTable();
            if (multiplex) table.MapMultiplex(NullLogger.Instance);
            table.MapUnary<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, async (r, ctx) =>
            {
                Interlocked.Increment(ref Calls);
                switch (r.Service)
                {
                    case "wait":
                        try { await Gate.Task.WaitAsync(ctx.CancellationToken); }
                        catch (OperationCanceledException) { WaitCancelled.TrySetResult(); throw; }
                        return new HealthCheckResponse { Status = ServingStatus.NotServing };
                    case "fail": throw new RpcException(RpcStatusCode.NotFound, "no such thing");
                    default: return new HealthCheckResponse { Status = r.Service.Length % 2 == 0 ? ServingStatus.Serving : ServingStatus.ServiceUnknown };
                }
            });
            return table;
        }

        public void Authorize(RpcCallContext ctx)
        {
            if (ctx.Method.EndsWith("/Exchange", StringComparison.Ordinal)) Interlocked.Increment(ref Exchanges);
        }
    }

    private static Task<HealthCheckResponse> Check(GrpcClient c, string service, TimeSpan? deadline = null, CancellationToken ct = default) =>
        c.MultiplexedUnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest { Service = service }, deadline, ct);

    [Fact]
    public async Task ManyConcurrentCalls_ShareOneStream_AWaitingCallHoldsNobodyUp_ErrorsKeepTheirStatus()
    {
        var probe = new Probe();
        await using var host = await GrpcTestHost.StartAsync(probe.Table(multiplex: true), probe.Authorize);
        using var client = host.Client();

        var waiting = Check(client, "wait");
        var calls = Enumerable.Range(0, 500).Select(i => (i, Check(client, new string('x', i % 7)))).ToArray();
        foreach (var (i, call) in calls)
            Assert.Equal(i % 7 % 2 == 0 ? ServingStatus.Serving : ServingStatus.ServiceUnknown, (await call.WaitAsync(TimeSpan.FromSeconds(30))).Status);
        Assert.False(waiting.IsCompleted);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Check(client, "fail"));
        Assert.Equal(RpcStatusCode.NotFound, ex.Status);
        Assert.Equal("no such thing", ex.Message);

        probe.Gate.SetResult();
        Assert.Equal(ServingStatus.NotServing, (await waiting.WaitAsync(TimeSpan.FromSeconds(30))).Status);
        Assert.Equal(1, Volatile.Read(ref probe.Exchanges));
        Assert.Equal(502, Volatile.Read(ref probe.Calls));
    }

    [Fact]
    public async Task CancellingOrTimingOutACall_CancelsItsHandler_TheStreamCarriesOn()
    {
        var probe = new Probe();
        await using var host = await GrpcTestHost.StartAsync(probe.Table(multiplex: true), probe.Authorize);
        using var client = host.Client();

        using var cts = new CancellationTokenSource();
        var cancelled = Check(client, "wait", ct: cts.Token);
        await Task.Delay(100);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await probe.WaitCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the caller's cancel frame reached the handler

        var late = await Assert.ThrowsAsync<RpcException>(() => Check(client, "wait", TimeSpan.FromMilliseconds(200)));
        Assert.Equal(RpcStatusCode.DeadlineExceeded, late.Status);

        Assert.Equal(ServingStatus.Serving, (await Check(client, "ok")).Status);
        Assert.Equal(1, Volatile.Read(ref probe.Exchanges));
    }

    [Fact]
    public async Task AServerWithoutMultiplex_GetsEachCallAsItsOwnRequest()
    {
        var probe = new Probe();
        await using var host = await GrpcTestHost.StartAsync(probe.Table(multiplex: false), probe.Authorize);
        using var client = host.Client();
        for (var i = 0; i < 3; i++) Assert.Equal(ServingStatus.Serving, (await Check(client, "ok")).Status);
        Assert.Equal(0, Volatile.Read(ref probe.Exchanges));
        Assert.Equal(3, Volatile.Read(ref probe.Calls));
    }

    [Fact]
    public async Task TheServerGoingAway_FailsWaitingCallsUnavailable()
    {
        var probe = new Probe();
        var host = await GrpcTestHost.StartAsync(probe.Table(multiplex: true), probe.Authorize);
        using var client = host.Client();
        Assert.Equal(ServingStatus.Serving, (await Check(client, "ok")).Status);
        var waiting = Check(client, "wait");
        await Task.Delay(100);
        // Stopping does not wait for the caller to end its stream (Kestrel would wait its whole shutdown timeout).
        var stop = System.Diagnostics.Stopwatch.StartNew();
        await host.DisposeAsync();
        Assert.True(stop.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stop.Elapsed}");
        var ex = await Assert.ThrowsAsync<RpcException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(RpcStatusCode.Unavailable, ex.Status);
        var next = await Assert.ThrowsAsync<RpcException>(() => Check(client, "ok").WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(RpcStatusCode.Unavailable, next.Status);
    }
}
