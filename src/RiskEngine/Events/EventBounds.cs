namespace RiskEngine.Events;

/// <summary>
/// The contract's bounds on input values (contract, "Second wave → Bounds"), in one place. Values outside them are
/// rejected at the edge, so no arithmetic further in can overflow on them.
/// </summary>
public static class EventBounds
{
    /// <summary>Earliest accepted <c>at</c> / <c>until</c> (inclusive).</summary>
    public static readonly DateTimeOffset EarliestTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Latest accepted <c>at</c> / <c>until</c> (exclusive).</summary>
    public static readonly DateTimeOffset EndOfTime = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Largest accepted amount.</summary>
    public const decimal MaxAmount = 1_000_000_000_000_000m;

    /// <summary>Most significant digits an amount may have: what a <see cref="decimal"/> holds exactly.</summary>
    public const int MaxSignificantDigits = 28;

    /// <summary>
    /// How far before its account's latest decided event an event may lie (the longest cap window). Older events are
    /// rejected as out of order, so one far-future event cannot empty an account's windows for the events after it.
    /// </summary>
    public static readonly TimeSpan MaxOutOfOrder = TimeSpan.FromDays(30);

    /// <summary>True when <paramref name="t"/> lies in [<see cref="EarliestTime"/>, <see cref="EndOfTime"/>).</summary>
    public static bool InRange(DateTimeOffset t) => t >= EarliestTime && t < EndOfTime;
}
