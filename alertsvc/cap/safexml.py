"""The security boundary for XML from outside: bytes in, an element tree out, nothing else ever happens.

Alerts arrive from the internet. XML can ask its parser to fetch URLs, read local files (external entities,
``file://`` DTDs) or expand a few bytes into gigabytes (nested entities, "billion laughs"). CAP needs none of
that, so any DOCTYPE is refused outright, before any of it is read: ``defusedxml`` over expat with
``forbid_dtd``, ``forbid_entities`` and ``forbid_external``. Expat itself never fetches anything, and nothing
here processes XInclude or ``xsi:schemaLocation``; such elements are plain elements to us.

The encoding declaration is honoured (expat reads it), so an ISO-8859-1 alert decodes correctly.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from alertsvc.cap.errors import BODY, CapError


def parse_xml(data: bytes) -> Element:
    """The root element of ``data``, or :class:`CapError` at ``["body"]`` saying why there is none."""
    try:
        root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise CapError.at(BODY, "a DOCTYPE (DTD) is not allowed in a CAP document") from None
    except EntitiesForbidden:
        raise CapError.at(BODY, "entity declarations are not allowed in a CAP document") from None
    except ExternalReferenceForbidden:
        raise CapError.at(BODY, "external references are not allowed in a CAP document") from None
    except DefusedXmlException:
        raise CapError.at(BODY, "the XML uses a construct that is not allowed in a CAP document") from None
    except ParseError as exc:
        raise CapError.at(BODY, f"not well-formed XML: {exc}") from None
    except (ValueError, LookupError, RecursionError) as exc:  # e.g. an encoding Python cannot decode
        raise CapError.at(BODY, f"the XML cannot be read: {str(exc)[:200]}") from None
    return root
