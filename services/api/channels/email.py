"""Email over SMTP: one plain-text mail per alert (or per morning digest).

Every mail carries `List-Unsubscribe` with the subscription's one-click URL and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), so a mail client's
unsubscribe button ends the subscription with one POST. RFC 8058 also asks for a DKIM
signature covering both headers: the relay that signs for the sending domain adds it.
The Message-ID derives from the idempotency key, so a resent mail is recognisably the
same message.
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from services.api.channels.base import Message, SendOutcome, SendResult
from shared.settings import SmtpSettings

# Headers are not folded below RFC 5322's hard limit, so the unsubscribe URI stays one line.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


def build_mail(sender: str, address: str, message: Message) -> EmailMessage:
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = sender
    mail["To"] = address
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "pantau.invalid"
    mail["Message-ID"] = f"<{message.idempotency_key}@{domain}>"
    mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies, please
    mail.set_content(message.text)
    mail["Content-Language"] = message.language  # after set_content, which clears Content-*
    return mail


class EmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    def send(self, address: str, message: Message) -> SendResult:
        s = self._settings
        mail = build_mail(s.from_address, address, message)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    password = s.password.get_secret_value() if s.password else ""
                    smtp.login(s.username, password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, _ = next(iter(exc.recipients.values()))
            # 5xx: the mailbox does not exist or refuses us for good; 4xx: try later.
            refused: SendOutcome = "recipient_gone" if code >= 500 else "retry"
            return SendResult(refused, f"SMTP {code}: recipient refused")
        except smtplib.SMTPAuthenticationError as exc:
            return SendResult("misconfigured", f"SMTP {exc.smtp_code}: authentication failed")
        except smtplib.SMTPResponseException as exc:
            outcome: SendOutcome = "failed" if exc.smtp_code >= 500 else "retry"
            return SendResult(outcome, f"SMTP {exc.smtp_code}")
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult("retry", f"{type(exc).__name__}"[:500])
        return SendResult("delivered", provider_id=mail["Message-ID"])

    def close(self) -> None:
        pass
