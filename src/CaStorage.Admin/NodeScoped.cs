namespace CaStorage.Admin.V1;

/// <summary>A request that a node answers for the whole cluster unless asked for its own part only.</summary>
internal interface INodeScoped
{
    bool ThisNodeOnly { get; set; }
}

public sealed partial class ListNodesRequest : INodeScoped;
public sealed partial class ListSessionsRequest : INodeScoped;
public sealed partial class ListTreeConnectsRequest : INodeScoped;
public sealed partial class ListOpensRequest : INodeScoped;
public sealed partial class ListLocksRequest : INodeScoped;
public sealed partial class ListLeasesRequest : INodeScoped;
public sealed partial class CloseOpenRequest : INodeScoped;
public sealed partial class LogoffRequest : INodeScoped;
