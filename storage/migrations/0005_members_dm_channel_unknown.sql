-- Members whose reminders go by DM but whose DM channel is not known yet (they subscribed
-- before channel ids were stored, or opening it ahead failed). At start-up the bot opens
-- those channels ahead of their next reminder (bot/reminders/dm_channels.py); partial, so
-- finding the few among a million members reads only them.
CREATE INDEX members_dm_channel_unknown ON members (user_id)
    WHERE dm_channel_id IS NULL AND delivery = 'dm';
