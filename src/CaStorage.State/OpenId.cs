namespace CaStorage.State;

/// <summary>Cluster-unique id of an open (the persistent half of an SMB2 FileId).</summary>
public readonly record struct OpenId(ulong Value)
{
    public override string ToString() => Value.ToString("x16");
}
