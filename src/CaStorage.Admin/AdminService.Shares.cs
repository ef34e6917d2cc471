using CaStorage.Admin.V1;
using CaStorage.Rpc;

namespace CaStorage.Admin;

/// <summary>Shares and configuration.</summary>
public sealed partial class AdminService
{
    private ValueTask<ListSharesResponse> ListShares(ListSharesRequest request, RpcCallContext call)
    {
        var response = new ListSharesResponse();
        response.Shares.AddRange(_shares.List().Select(ToProto));
        return ValueTask.FromResult(response);
    }

    private ValueTask<ShareResponse> AddShare(AddShareRequest request, RpcCallContext call) =>
        ValueTask.FromResult(ChangeShare(call, "add", request.Share, d => _shares.Add(d)));

    private ValueTask<ShareResponse> SetShare(SetShareRequest request, RpcCallContext call) =>
        ValueTask.FromResult(ChangeShare(call, "set", request.Share, d => _shares.Set(d)));

    private ShareResponse ChangeShare(RpcCallContext call, string operation, Share? share, Func<ShareDefinition, ShareDefinition> apply)
    {
        if (share is null) throw Refuse(call, new RpcException(RpcStatusCode.InvalidArgument, "share is required"));
        ShareDefinition result;
        try
        {
            result = apply(FromProto(share));
        }
        catch (ShareValidationException ex)
        {
            throw Refuse(call, new RpcException(RpcStatusCode.InvalidArgument, ex.Message));
        }
        catch (ShareExistsException ex)
        {
            throw Refuse(call, new RpcException(RpcStatusCode.AlreadyExists, ex.Message));
        }
        catch (KeyNotFoundException ex)
        {
            throw Refuse(call, new RpcException(RpcStatusCode.NotFound, ex.Message));
        }
        AdminLog.ShareChanged(_log, call.Peer, operation, result.Name, result.Path, string.Join(",", result.Vfs));
        return new ShareResponse { Share = ToProto(result) };
    }

    private ValueTask<RemoveShareResponse> RemoveShare(RemoveShareRequest request, RpcCallContext call)
    {
        if (request.Name.Length == 0) throw Refuse(call, new RpcException(RpcStatusCode.InvalidArgument, "name is required"));
        var trees = _shares.Remove(request.Name)
            ?? throw Refuse(call, new RpcException(RpcStatusCode.NotFound, $"no share '{request.Name}'"));
        AdminLog.ShareChanged(_log, call.Peer, "remove", request.Name, "", "");
        return ValueTask.FromResult(new RemoveShareResponse { Name = request.Name, ConnectedTrees = (uint)trees });
    }

    private ValueTask<GetConfigResponse> GetConfig(GetConfigRequest request, RpcCallContext call)
    {
        var response = new GetConfigResponse { Node = _node.Id };
        foreach (var (key, value) in _settings()) response.Settings.Add(new Setting { Key = key, Value = value });
        response.Shares.AddRange(_shares.List().Select(ToProto));
        return ValueTask.FromResult(response);
    }

    private static ShareDefinition FromProto(Share s) =>
        new(s.Name, s.Path, [.. s.Vfs], new Dictionary<string, string>(s.Options), s.ReadOnly, s.ContinuouslyAvailable, s.Encrypt);

    private static Share ToProto(ShareDefinition d)
    {
        var s = new Share
        {
            Name = d.Name,
            Path = d.Path,
            ReadOnly = d.ReadOnly,
            ContinuouslyAvailable = d.ContinuouslyAvailable,
            Encrypt = d.Encrypt,
            CaEffective = d.CaEffective,
        };
        s.Vfs.AddRange(d.Vfs);
        foreach (var (k, v) in d.Options) s.Options[k] = v;
        return s;
    }
}
