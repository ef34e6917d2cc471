using System.Net;
using System.Net.Http.Headers;
using CaStorage.Rpc;
using CaStorage.Rpc.Services;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace CaStorage.Admin.Tests;

/// <summary>The hand-written gRPC server on Kestrel, seen through the hand-written client and raw HTTP/2.</summary>
public sealed class GrpcServerTests
{
    private static GrpcMethodTable HealthTable(HealthService health)
    {
        var table = new GrpcMethodTable();
        health.MapTo(table);
        new ReflectionService(table).MapTo(table);
        return table;
    }

    [Fact]
    public async Task Health_Check_ReportsTheStatusAndUnknownServicesAreNotFound()
    {
        var health = new HealthService();
        await using var host = await GrpcTestHost.StartAsync(HealthTable(health));
        using var client = host.Client();
        var r = await client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest());
        Assert.Equal(ServingStatus.Serving, r.Status);

        health.SetStatus("", ServingStatus.NotServing);
        r = await client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest());
        Assert.Equal(ServingStatus.NotServing, r.Status);

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest { Service = "nope" }));
        Assert.Equal(RpcStatusCode.NotFound, ex.Status);
        Assert.Contains("nope", ex.Message);
    }

    [Fact]
    public async Task Health_Watch_SendsTheStatusThenEachChange_UnknownServiceIsServiceUnknown()
    {
        var health = new HealthService();
        await using var host = await GrpcTestHost.StartAsync(HealthTable(health));
        using var http = RawClient(host);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watch = GrpcMethodTable.PathOf(HealthService.WatchMethod);

        using var response = await http.SendAsync(GrpcRequest(watch, GrpcFraming.Frame(new HealthCheckRequest())), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = System.IO.Pipelines.PipeReader.Create(await response.Content.ReadAsStreamAsync(cts.Token));
        await using var messages = GrpcFraming.ReadAllAsync(stream, HealthCheckResponse.Parser, 1 << 20, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await messages.MoveNextAsync());
        Assert.Equal(ServingStatus.Serving, messages.Current.Status);
        health.SetStatus("", ServingStatus.Serving); // no change: nothing is sent
        health.SetStatus("", ServingStatus.NotServing);
        Assert.True(await messages.MoveNextAsync());
        Assert.Equal(ServingStatus.NotServing, messages.Current.Status);
        health.SetStatus("", ServingStatus.Serving);
        Assert.True(await messages.MoveNextAsync());
        Assert.Equal(ServingStatus.Serving, messages.Current.Status);

        // A service that is not known (yet) is SERVICE_UNKNOWN on a watch, and its appearance is sent.
        using var other = await http.SendAsync(GrpcRequest(watch, GrpcFraming.Frame(new HealthCheckRequest { Service = "later" })),
            HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var otherStream = System.IO.Pipelines.PipeReader.Create(await other.Content.ReadAsStreamAsync(cts.Token));
        await using var later = GrpcFraming.ReadAllAsync(otherStream, HealthCheckResponse.Parser, 1 << 20, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await later.MoveNextAsync());
        Assert.Equal(ServingStatus.ServiceUnknown, later.Current.Status);
        health.SetStatus("later", ServingStatus.Serving);
        Assert.True(await later.MoveNextAsync());
        Assert.Equal(ServingStatus.Serving, later.Current.Status);
    }

    [Fact]
    public async Task Health_Watch_WithDeadline_EndsWithDeadlineExceededAfterItsMessages()
    {
        await using var host = await GrpcTestHost.StartAsync(HealthTable(new HealthService()));
        using var http = RawClient(host);
        var request = GrpcRequest(GrpcMethodTable.PathOf(HealthService.WatchMethod), GrpcFraming.Frame(new HealthCheckRequest()));
        request.Headers.TryAddWithoutValidation("grpc-timeout", "300m");
        using var response = await http.SendAsync(request);
        // The body (read to its end) holds the one status message; the stream then ends with the deadline in trailers.
        var body = await response.Content.ReadAsByteArrayAsync();
        var buffer = new System.Buffers.ReadOnlySequence<byte>(body);
        Assert.True(GrpcFraming.TryReadMessage(ref buffer, 1 << 20, out var message));
        Assert.Equal(ServingStatus.Serving, HealthCheckResponse.Parser.ParseFrom(message).Status);
        Assert.True(buffer.IsEmpty);
        Assert.Equal("4", response.TrailingHeaders.GetValues("grpc-status").Single());
    }

    [Fact]
    public async Task UnmappedMethod_IsUnimplemented_TrailersOnly()
    {
        await using var host = await GrpcTestHost.StartAsync(HealthTable(new HealthService()));
        using var http = RawClient(host);
        using var response = await http.SendAsync(GrpcRequest("/grpc.health.v1.Health/Nope", GrpcFraming.Frame(new HealthCheckRequest())));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Trailers-only: the status is in the headers and there is no body.
        Assert.Equal("12", response.Headers.GetValues("grpc-status").Single());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task UnaryRequest_WithTwoMessages_IsInternal()
    {
        await using var host = await GrpcTestHost.StartAsync(HealthTable(new HealthService()));
        using var http = RawClient(host);
        var body = GrpcFraming.Frame(new HealthCheckRequest()).Concat(GrpcFraming.Frame(new HealthCheckRequest())).ToArray();
        using var response = await http.SendAsync(GrpcRequest(GrpcMethodTable.PathOf(HealthService.CheckMethod), body));
        await response.Content.ReadAsByteArrayAsync();
        Assert.Equal("13", response.Headers.GetValues("grpc-status").Single());
    }

    [Fact]
    public async Task UnaryResponse_HasTheMessageThenOkTrailers()
    {
        await using var host = await GrpcTestHost.StartAsync(HealthTable(new HealthService()));
        using var http = RawClient(host);
        using var response = await http.SendAsync(GrpcRequest(GrpcMethodTable.PathOf(HealthService.CheckMethod), GrpcFraming.Frame(new HealthCheckRequest())));
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(GrpcFraming.Frame(new HealthCheckResponse { Status = ServingStatus.Serving }), body);
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task NonGrpcContentType_Is415()
    {
        await using var host = await GrpcTestHost.StartAsync(HealthTable(new HealthService()));
        using var http = RawClient(host);
        var request = GrpcRequest(GrpcMethodTable.PathOf(HealthService.CheckMethod), []);
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task HandlerException_IsUnknownWithoutDetails_AndRpcExceptionKeepsItsStatusAndMessage()
    {
        var table = new GrpcMethodTable();
        table.MapUnary<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, (request, _) => request.Service switch
        {
            "boom" => throw new InvalidOperationException("secret detail"),
            _ => throw new RpcException(RpcStatusCode.FailedPrecondition, "not now: 100% busy"),
        });
        await using var host = await GrpcTestHost.StartAsync(table);
        using var client = host.Client();
        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest { Service = "boom" }));
        Assert.Equal(RpcStatusCode.Unknown, unknown.Status);
        Assert.DoesNotContain("secret", unknown.Message);
        var failed = await Assert.ThrowsAsync<RpcException>(() =>
            client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest { Service = "x" }));
        Assert.Equal(RpcStatusCode.FailedPrecondition, failed.Status);
        Assert.Equal("not now: 100% busy", failed.Message);
    }

    [Fact]
    public async Task Deadline_CancelsTheHandler_DeadlineExceeded()
    {
        var table = new GrpcMethodTable();
        table.MapUnary<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, async (_, call) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), call.CancellationToken);
            return new HealthCheckResponse();
        });
        await using var host = await GrpcTestHost.StartAsync(table);
        using var client = host.Client();
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest(), TimeSpan.FromMilliseconds(200)));
        Assert.Equal(RpcStatusCode.DeadlineExceeded, ex.Status);
    }

    [Fact]
    public async Task Authorize_RefusesBeforeTheHandlerRuns()
    {
        var ran = false;
        var table = new GrpcMethodTable();
        table.MapUnary<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, (_, _) =>
        {
            ran = true;
            return ValueTask.FromResult(new HealthCheckResponse());
        });
        await using var host = await GrpcTestHost.StartAsync(table, _ => throw new RpcException(RpcStatusCode.Unauthenticated, "who are you"));
        using var client = host.Client();
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest()));
        Assert.Equal(RpcStatusCode.Unauthenticated, ex.Status);
        Assert.False(ran);
    }

    [Fact]
    public async Task Client_UnreachableServer_IsUnavailableWithTheReason()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        using var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}"));
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod, new HealthCheckRequest()));
        Assert.Equal(RpcStatusCode.Unavailable, ex.Status);
        Assert.Contains("refused", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Reflection_ListsServices_AndReturnsFilesWithDependencies()
    {
        var table = new GrpcMethodTable();
        var admin = AdminFixture.CreateService();
        admin.MapTo(table);
        new HealthService().MapTo(table);
        new ReflectionService(table).MapTo(table);
        await using var host = await GrpcTestHost.StartAsync(table);
        using var client = host.Client();
        ServerReflectionRequest[] requests =
        [
            new() { ListServices = "" },
            new() { FileContainingSymbol = "castorage.admin.v1.Admin" },
            new() { FileContainingSymbol = "castorage.admin.v1.Open" },
            new() { FileByFilename = "grpc/health/v1/health.proto" },
            new() { FileContainingSymbol = "no.such.Symbol" },
        ];
        var responses = await client.CallAsync<ServerReflectionRequest, ServerReflectionResponse>(ReflectionService.InfoMethod, requests);
        Assert.Equal(requests.Length, responses.Count);

        var services = responses[0].ListServicesResponse.Service.Select(s => s.Name).ToArray();
        Assert.Equal(["castorage.admin.v1.Admin", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"], services);

        // The admin file comes first, then what it imports; together they build (every dependency is there).
        var files = responses[1].FileDescriptorResponse.FileDescriptorProto;
        var names = files.Select(f => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(f).Name).ToArray();
        Assert.Equal(["admin.proto", "google/protobuf/timestamp.proto"], names);
        var built = Google.Protobuf.Reflection.FileDescriptor.BuildFromByteStrings(files.Reverse());
        var service = built.Single(f => f.Name == "admin.proto").Services.Single();
        Assert.Contains(service.Methods, m => m.Name == "CloseOpen");

        Assert.Equal("admin.proto", Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(responses[2].FileDescriptorResponse.FileDescriptorProto[0]).Name);
        Assert.Equal("grpc/health/v1/health.proto", Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(responses[3].FileDescriptorResponse.FileDescriptorProto[0]).Name);
        Assert.Equal((int)RpcStatusCode.NotFound, responses[4].ErrorResponse.ErrorCode);
        Assert.Equal("no.such.Symbol", responses[4].OriginalRequest.FileContainingSymbol);
    }

    private static HttpClient RawClient(GrpcTestHost host) => new()
    {
        BaseAddress = host.Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private static HttpRequestMessage GrpcRequest(string path, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }
}
