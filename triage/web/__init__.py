"""The review pages (`triage serve`): sign-in, the queue, items with their actions, help.

`triage.web.app.create_app` builds the Flask application, `triage.web.accounts` keeps users and
sessions, `triage.web.mailtext` reads an item's message from the mailbox at view time, and
`triage.web.commands` adds `serve` and `user ...` to the command line.
"""
