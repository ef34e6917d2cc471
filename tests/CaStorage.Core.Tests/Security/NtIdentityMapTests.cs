using CaStorage.Core.Security;

namespace CaStorage.Core.Tests.Security;

public sealed class NtIdentityMapTests
{
    [Fact]
    public void DomainSidAndRids_ArePinned()
    {
        // These values end up in stored security descriptors: they must never change.
        Assert.Equal("S-1-5-21-1534103122-3003081779-1614940675", NtIdentityMap.DomainSidFor("CASTORAGE").ToString());
        Assert.Equal(NtIdentityMap.DomainSidFor("castorage"), NtIdentityMap.DomainSidFor("CASTORAGE"));
        Assert.Equal(1690430594u, NtIdentityMap.DefaultRidFor("testuser"));
        Assert.Equal(NtIdentityMap.DefaultRidFor("TestUser"), NtIdentityMap.DefaultRidFor("testuser"));
        Assert.InRange(NtIdentityMap.DefaultRidFor("x"), WellKnownSids.FirstAccountRid, 0x7FFF_FFFFu);
    }

    [Fact]
    public void UserToken_HasUserDomainUsersAndWellKnownGroups()
    {
        var domain = Sid.Parse("S-1-5-21-1-2-3");
        var map = new NtIdentityMap(domain, new Dictionary<string, uint> { ["alice"] = 1001 }, ["root"]);
        var alice = map.TokenFor("Alice");
        Assert.Equal(Sid.Parse("S-1-5-21-1-2-3-1001"), alice.User);
        Assert.Equal(Sid.Parse("S-1-5-21-1-2-3-513"), alice.PrimaryGroup);
        Assert.True(alice.Contains(WellKnownSids.Everyone));
        Assert.True(alice.Contains(WellKnownSids.AuthenticatedUsers));
        Assert.True(alice.Contains(WellKnownSids.BuiltinUsers));
        Assert.False(alice.IsAdministrator);
        Assert.True(alice.CanAssignOwner(alice.User));
        Assert.True(alice.CanAssignOwner(WellKnownSids.Everyone));
        Assert.False(alice.CanAssignOwner(WellKnownSids.BuiltinAdministrators));

        var root = map.TokenFor("root");
        Assert.True(root.IsAdministrator);
        Assert.True(root.CanAssignOwner(alice.User));
        Assert.Equal(domain.Append(NtIdentityMap.DefaultRidFor("root")), root.User);
    }

    [Fact]
    public void GuestAndAnonymous_HaveTheirOwnTokens()
    {
        var map = new NtIdentityMap(Sid.Parse("S-1-5-21-1-2-3"));
        var guest = map.TokenFor("whoever", isGuest: true, isAnonymous: false);
        Assert.Equal(Sid.Parse("S-1-5-21-1-2-3-501"), guest.User);
        Assert.True(guest.Contains(WellKnownSids.Everyone));
        Assert.True(guest.Contains(WellKnownSids.BuiltinGuests));
        Assert.False(guest.Contains(WellKnownSids.AuthenticatedUsers));
        var anonymous = map.TokenFor("", isGuest: false, isAnonymous: true);
        Assert.Equal(WellKnownSids.Anonymous, anonymous.User);
        Assert.False(anonymous.Contains(WellKnownSids.Everyone));
    }

    [Fact]
    public void ReservedOrCollidingRids_AreRefused()
    {
        var domain = Sid.Parse("S-1-5-21-1-2-3");
        Assert.Throws<ArgumentException>(() => new NtIdentityMap(domain, new Dictionary<string, uint> { ["a"] = 500 }));
        var map = new NtIdentityMap(domain, new Dictionary<string, uint> { ["a"] = 2000, ["b"] = 2000 });
        Assert.Throws<ArgumentException>(() => map.EnsureDistinct(["a", "b"]));
        new NtIdentityMap(domain).EnsureDistinct(["a", "b", "A"]);
    }
}
