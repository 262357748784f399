using RiskEngine.Server.Accounts;

namespace RiskEngine.Tests.Server;

/// <summary>How an account route reads its account from the raw request target and the route value the server matched.</summary>
public sealed class AccountRouteTests
{
    [Theory]
    [InlineData("/v1/accounts/a%2Fb", "a%2Fb", "a/b")]
    [InlineData("/v1/accounts/a%2fb/history?limit=3", "a%2fb", "a/b")]
    [InlineData("/v1/accounts/a%252Fb", "a%2Fb", "a%2Fb")] // the account literally named a%2Fb
    [InlineData("/v1/accounts/a%25b/unfreeze", "a%b", "a%b")]
    [InlineData("/v1/accounts/caf%C3%A9%20x/totp/enroll", "café x", "café x")]
    [InlineData("/V1/Accounts/acct-D", "acct-D", "acct-D")]
    [InlineData("http://localhost:5000/v1/accounts/a%2Fb/freeze", "a%2Fb", "a/b")] // absolute-form
    [InlineData("", "acct-D", "acct-D")] // no raw target kept, and nothing escaped
    public void The_raw_segment_unescaped_once_is_the_account(string raw, string routed, string expected)
    {
        Assert.Null(AccountRoute.Read(raw, routed, out var id));
        Assert.Equal(expected, id);
    }

    [Theory]
    [InlineData("/v1/accounts/a%FFb", "a%FFb")] // not UTF-8
    [InlineData("/v1/accounts/a%C3b", "a%C3b")]
    [InlineData("/v1/accounts/a%2", "a%2")] // not % and two hex digits
    [InlineData("/v1/accounts/a%zzb", "a%zzb")]
    [InlineData("/v1/accounts/x/../victim", "victim")] // the segment read would not be the one routed
    [InlineData("/v1/%61ccounts/a%2Fb", "a%2Fb")]
    [InlineData("", "a%2Fb")] // no raw target: a%2Fb cannot be told from a%252Fb
    public void An_unreadable_or_ambiguous_account_is_an_error_never_a_guess(string raw, string routed)
    {
        Assert.NotNull(AccountRoute.Read(raw, routed, out var id));
        Assert.Null(id);
    }
}
