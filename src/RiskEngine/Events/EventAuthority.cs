namespace RiskEngine.Events;

/// <summary>
/// Who may send what (the contract's third wave): an authenticated source — an HTTP request under an API key — may
/// carry an event only when it holds the role the event's type needs. <c>transaction</c>, <c>login</c>, <c>limit</c>,
/// <c>reversal</c> and a user's own <c>report</c> need <see cref="Decide"/> (the payment platform acting for its
/// user); <c>unfreeze</c> and a <c>report</c> whose <c>by</c> is an agent need <see cref="Support"/>. Files and streams a
/// worker reads are the operator's and are not checked. Thread-safe (static, no state).
/// </summary>
public static class EventAuthority
{
    /// <summary>The role of the payment platform: its users' events.</summary>
    public const string Decide = "decide";

    /// <summary>The role of support staff and tools: lifting freezes, acting for a user.</summary>
    public const string Support = "support";

    /// <summary>The <c>by</c> of an event a user sent for themselves.</summary>
    public const string User = "user";

    /// <summary>The role <paramref name="riskEvent"/> needs.</summary>
    /// <remarks>Fails closed: an event type not named here (a new one) needs <see cref="Support"/> until it is.</remarks>
    public static string RequiredRole(RiskEvent riskEvent) => riskEvent switch
    {
        TransactionAttempt or LoginAttempt or LimitArrangement or LimitCancellation or TransactionReversal => Decide,
        ActivityReport r => string.Equals(r.By, User, StringComparison.Ordinal) ? Decide : Support,
        _ => Support,
    };

    /// <summary>The event's <c>type</c> on the wire.</summary>
    public static string WireType(RiskEvent riskEvent) => riskEvent switch
    {
        TransactionAttempt => "transaction",
        LoginAttempt => "login",
        LimitArrangement or LimitCancellation => "limit",
        TransactionReversal => "reversal",
        ActivityReport => "report",
        SupportUnfreeze => "unfreeze",
        _ => "event",
    };

    /// <summary>
    /// Null when a source whose roles pass <paramref name="holdsRole"/> may carry <paramref name="riskEvent"/>; otherwise the
    /// rejection (on <c>type</c>, naming the type and the role it needs) that answers it undecided.
    /// </summary>
    public static Decisions.Rejection? Check(RiskEvent riskEvent, Func<string, bool> holdsRole)
    {
        ArgumentNullException.ThrowIfNull(riskEvent);
        ArgumentNullException.ThrowIfNull(holdsRole);
        var role = RequiredRole(riskEvent);
        if (holdsRole(role)) return null;
        var type = WireType(riskEvent);
        var what = riskEvent is ActivityReport && role == Support ? "a 'report' made by an agent (by is not \"user\")" : $"a '{type}' event";
        return new Decisions.Rejection(riskEvent.Id, "type", $"{what} needs the {role} role, which this API key does not hold; nothing was decided");
    }
}
