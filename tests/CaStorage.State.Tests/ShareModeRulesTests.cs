using CaStorage.Core;
using CaStorage.State;

namespace CaStorage.State.Tests;

public sealed class ShareModeRulesTests
{
    private const AccessMask R = AccessMask.FileReadData, W = AccessMask.FileWriteData, D = AccessMask.Delete, A = AccessMask.FileReadAttributes;
    private const ShareAccess SR = ShareAccess.Read, SW = ShareAccess.Write, SD = ShareAccess.Delete, SN = ShareAccess.None;

    [Theory]
    // existing access/share, new access/share, conflict?
    [InlineData(R, SR, R, SR, false)]
    [InlineData(R, SN, R, SR, true)]       // existing does not share read
    [InlineData(R, SR, W, SR | SW, true)]  // new writer, existing does not share write
    [InlineData(W, SR | SW, R, SR, true)]  // existing writer, new does not share write
    [InlineData(W, SR | SW, W, SR | SW, false)]
    [InlineData(D, SR, R, SR | SD, false)]
    [InlineData(D, SR, R, SR, true)]       // existing delete access, new does not share delete
    [InlineData(R, SR, D, SR | SD, true)]  // new delete access, existing does not share delete
    [InlineData(A, SN, R | W | D, SN, false)] // stat opens take no share mode
    [InlineData(R | W | D, SN, A, SN, false)]
    [InlineData(AccessMask.FileExecute, SN, R, SR, true)] // execute counts as read
    [InlineData(AccessMask.FileAppendData, SR, R, SR, true)] // append counts as write
    public void Conflicts_FollowsWindowsShareAccessMatrix(AccessMask ea, ShareAccess es, AccessMask na, ShareAccess ns, bool conflict)
        => Assert.Equal(conflict, ShareModeRules.Conflicts(ea, es, na, ns));

    [Fact]
    public void Conflicts_EveryCombination_IsSymmetricWhenSharesAreSwappedWithAccess()
    {
        // Conflict(a,b) must equal Conflict(b,a): the rule looks both ways.
        var accesses = new[] { R, W, D, A, R | W, R | D, W | D, R | W | D };
        for (var s1 = 0; s1 < 8; s1++)
        for (var s2 = 0; s2 < 8; s2++)
            foreach (var a1 in accesses)
            foreach (var a2 in accesses)
                Assert.Equal(ShareModeRules.Conflicts(a1, (ShareAccess)s1, a2, (ShareAccess)s2),
                             ShareModeRules.Conflicts(a2, (ShareAccess)s2, a1, (ShareAccess)s1));
    }
}
