/**
 * The longest a subscription may live, by resource: "Subscription lifetime" in
 * https://learn.microsoft.com/graph/change-notifications-overview#subscription-lifetime
 * (Teams channel, chat, chatMessage, conversationMember, team, callTranscript, callRecording,
 * teamsAppInstallation: 4,320 minutes; callRecord and onlineMeeting: 4,230; Shifts: 360;
 * presence: 60). Lifetimes above one hour need a lifecycleNotificationUrl, which the relay always
 * sends. A resource not in the table gets one hour, which every resource accepts.
 */
const minute = 60_000;

const rules: ReadonlyArray<readonly [RegExp, number]> = [
  [/^communications\/presences|\/presence$/i, 60],
  [/^communications\/callrecords/i, 4230],
  [/(recordings|transcripts)(\/|\?|$)/i, 4320],
  // "Teams onlineMeeting" says 4,320 and "onlineMeeting" 4,230: the shorter one is safe for both.
  [/onlinemeetings/i, 4230],
  [
    /\/(shifts|openshiftchangerequests|swapshiftschangerequests|timeoffrequests|offershiftrequests)(\/|\?|$)/i,
    360,
  ],
  [/^(teams|chats|appcatalogs\/teamsapps|users\/[^/]+\/(chats|teamwork))(\/|\?|$)/i, 4320],
];

/** Keeps requests inside the limit when this clock runs ahead of Graph's. */
const clockMarginMs = 5 * minute;

export function maxLifetimeMs(resource: string): number {
  const path = resource.replace(/^\/+/, '');
  for (const [pattern, minutes] of rules) if (pattern.test(path)) return minutes * minute - clockMarginMs;
  return 60 * minute - clockMarginMs;
}
