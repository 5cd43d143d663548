// Generated copy of /work/shared/fixtures/native/*.json (provenance of each file: SOURCES.md there),
// embedded byte-for-byte as raw strings so the tests run anywhere without resource declarations.
// `FixtureCopyTests` checks these copies still equal the originals when /work/shared is present.

enum NativeFixtures {
    static let all: [String: String] = [
        "instagram_image.json": #"""
{
  "object": "instagram",
  "entry": [
    {
      "id": "1234567890",
      "messaging": [
        {
          "message": {
            "mid": "external_id",
            "attachments": [
              {
                "type": "image",
                "payload": {
                  "url": "https://image-url/foo.png"
                }
              }
            ]
          },
          "recipient": {
            "id": "1234567890"
          },
          "sender": {
            "id": "5678"
          },
          "timestamp": 1459991487970
        }
      ],
      "time": 1459991487970
    }
  ]
}
"""#,
        "instagram_reaction.json": #"""
{
  "object": "instagram",
  "entry": [
    {
      "time": 1774131815844,
      "id": "17841404645593433",
      "messaging": [
        {
          "sender": {
            "id": "6234380736598057"
          },
          "recipient": {
            "id": "17841404645593433"
          },
          "timestamp": 1774131815375,
          "reaction": {
            "mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA0NjQ1NTkzNDMzOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1ODY0MDc4MjI2ODU3NDAyMjozMjcyNjk1NTA1MjUxNTczODkyODQ3ODE4Mjc3MjMxMDAxNgZDZD",
            "action": "react",
            "reaction": "like",
            "emoji": "👍"
          }
        }
      ]
    }
  ]
}
"""#,
        "instagram_seen.json": #"""
{
  "object": "instagram",
  "entry": [
    {
      "time": 1668022334834,
      "id": "17841452691600098",
      "messaging": [
        {
          "sender": {
            "id": "5614879045272581"
          },
          "recipient": {
            "id": "17841452691600098"
          },
          "timestamp": 1668022333735,
          "read": {
            "mid": "MESSAGE-ID"
          }
        }
      ]
    }
  ]
}
"""#,
        "instagram_send_image.json": #"""
{
  "recipient": {
    "id": "<IGSID>"
  },
  "message": {
    "attachment": {
      "type": "image",
      "payload": {
        "url": "<IMAGE_URL>"
      }
    }
  }
}
"""#,
        "instagram_send_reaction.json": #"""
{
  "recipient": {
    "id": "<IGSID>"
  },
  "sender_action": "react",
  "payload": {
    "message_id": "<MESSAGE_ID>",
    "reaction": "love"
  }
}
"""#,
        "instagram_send_text.json": #"""
{
  "recipient": {
    "id": "<IGSID>"
  },
  "message": {
    "text": "<TEXT_OR_LINK>"
  }
}
"""#,
        "instagram_text.json": #"""
{
  "object": "instagram",
  "entry": [
    {
      "id": "1234567890",
      "messaging": [
        {
          "message": {
            "text": "Hello World",
            "mid": "external_id"
          },
          "recipient": {
            "id": "1234567890"
          },
          "sender": {
            "id": "5678"
          },
          "timestamp": 1459991487970
        }
      ],
      "time": 1459991487970
    }
  ]
}
"""#,
        "messenger_attachment_image.json": #"""
{
  "sender": {
    "id": "<PSID>"
  },
  "recipient": {
    "id": "<PAGE_ID>"
  },
  "timestamp": 1518479195308,
  "message": {
    "mid": "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c",
    "attachments": [
      {
        "type": "image",
        "payload": {
          "url": "<IMAGE_URL>"
        }
      }
    ]
  }
}
"""#,
        "messenger_delivery.json": #"""
{
  "sender":{
    "id":"<PSID>"
  },
  "recipient":{
    "id":"<PAGE_ID>"
  },
   "delivery":{
      "mids":[
         "mid.1458668856218:ed81099e15d3f4f233"
      ],
      "watermark":1458668856253
   }
}
"""#,
        "messenger_reaction.json": #"""
{
  "object": "page",
  "entry": [
    {
      "id": "1234567890321",
      "time": 1572465098508,
      "messaging": [
        {
          "sender": {
            "id": "USER_ID"
          },
          "recipient": {
            "id": "PAGE_ID"
          },
          "timestamp": 1572465098502,
          "reaction": {
            "mid": "original_message_id",
            "action": "react",
            "emoji": "\ud83d\ude22",
            "reaction": "sad"
          }
        }
      ]
    }
  ]
}
"""#,
        "messenger_read.json": #"""
{
   "sender":{
      "id":"<PSID>"
   },
   "recipient":{
      "id":"<PAGE_ID>"
   },
   "timestamp":1458668856463,
   "read":{
      "watermark":1458668856253
   }
}
"""#,
        "messenger_reply_to.json": #"""
{
  "sender":{
    "id":"<PSID>"
  },
  "recipient":{
    "id":"<PAGE_ID>"
  },
  "timestamp":1458692752478,
  "message":{
    "mid":"m_1457764197618:41d102a3e1ae206a38",
    "text":"hello, world!",
    "reply_to": {
      "mid":"m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU",
      "is_self_reply": false
    }
  }
}
"""#,
        "messenger_send_image.json": #"""
{
  "recipient":{
    "id":"1254459154682919"
  },
  "message":{
    "attachment":{
      "type":"image",
      "payload":{
        "url":"http://www.messenger-rocks.com/image.jpg",
        "is_reusable":true
      }
    }
  }
}
"""#,
        "messenger_send_reply.json": #"""
{
  "recipient": {
    "id": "<PSID>"
  },
  "messaging_type": "RESPONSE",
  "message": {
    "text": "Hello, world!"
  },
  "reply_to": {
    "mid": "<MESSAGE_ID>"
  }
}
"""#,
        "messenger_send_text.json": #"""
{
  "recipient":{
    "id":"<PSID>"
  },
  "messaging_type": "RESPONSE",
  "message":{
    "text":"Hello, world!"
  }
}
"""#,
        "messenger_text.json": #"""
{
  "sender": {
    "id": "<PSID>"
  },
  "recipient": {
    "id": "<PAGE_ID>"
  },
  "timestamp": 1458692752478,
  "message": {
    "mid": "mid.1457764197618:41d102a3e1ae206a38",
    "text": "hello, world!"
  }
}
"""#,
        "messenger_text_full_envelope.json": #"""
{
  "object": "page",
  "entry": [
    {
      "id": "<PAGE_ID>",
      "time": 1697643211842,
      "messaging": [
        {
          "sender": {
            "id": "<PSID>"
          },
          "recipient": {
            "id": "<PAGE_ID>"
          },
          "timestamp": 1697643027400,
          "message": {
            "mid": "m_3vs...",
            "text": "find flights from SFO to LAX next Thursday",
            "commands": [
              {
                "name": "flights"
              }
            ]
          }
        }
      ]
    }
  ]
}
"""#,
        "whatsapp_image.json": #"""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "timestamp": "1744344496",
                "type": "image",
                "image": {
                  "caption": "Taj Mahal",
                  "mime_type": "image/jpeg",
                  "sha256": "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
                  "id": "1003383421387256",
                  "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133..."
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
"""#,
        "whatsapp_mark_read.json": #"""
{
  "messaging_product": "whatsapp",
  "status": "read",
  "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA"
}
"""#,
        "whatsapp_reaction.json": #"""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                "timestamp": "1749419544",
                "type": "reaction",
                "reaction": {
                  "message_id": "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
                  "emoji": "👍"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
"""#,
        "whatsapp_reply_context.json": #"""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "1234567890987654321",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "972123456789",
              "phone_number_id": "1122334455667"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Test Name"
                },
                "wa_id": "972987654321",
                "user_id": "US.13491208655302741918",
                "parent_user_id": "US.ENT.11815799212886844830"
              }
            ],
            "messages": [
              {
                "context": {
                  "from": "972123456789",
                  "id": "wamid.xyzxyz=="
                },
                "from": "972987654321",
                "id": "wamid.xyzxyz",
                "timestamp": "1697044746",
                "text": {
                  "body": "replied text"
                },
                "type": "text"
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
"""#,
        "whatsapp_send_image.json": #"""
{
  "messaging_product": "whatsapp",
  "recipient_type": "individual",
  "to": "+16505551234",
  "type": "image",
  "image": {
    "id" : "1479537139650973",
    "caption": "The best succulent ever?"
  }
}
"""#,
        "whatsapp_send_reaction.json": #"""
{
  "messaging_product": "whatsapp",
  "recipient_type": "individual",
  "to": "+16505551234",
  "type": "reaction",
  "reaction": {
    "message_id": "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQUZCMTY0MDc2MUYwNzBDNTY5MAA=",
    "emoji": "\uD83D\uDE00"
  }
}
"""#,
        "whatsapp_send_reply_text.json": #"""
{
  "messaging_product": "whatsapp",
  "recipient_type": "individual",
  "to": "+16505551234",
  "context": {
    "message_id": "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTdCNTg5RjY1MEMyRjlGMjRGNgA="
  },
  "type": "text",
  "text": {
    "body": "You're welcome, Pablo!"
  }
}
"""#,
        "whatsapp_send_text.json": #"""
{
  "messaging_product": "whatsapp",
  "recipient_type": "individual",
  "to": "+16505551234",
  "type": "text",
  "text": {
    "preview_url": true,
    "body": "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/"
  }
}
"""#,
        "whatsapp_status_read.json": #"""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "5467539754836534",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "972123456789",
              "phone_number_id": "1122334455667"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Test Name"
                },
                "wa_id": "972987654321",
                "user_id": "US.13491208655302741918",
                "parent_user_id": "US.ENT.11815799212886844830"
              }
            ],
            "statuses": [
              {
                "id": "wamid.xyzxyz",
                "status": "read",
                "timestamp": "1689380458",
                "recipient_id": "972987654321",
                "conversation": {
                  "id": "7270432eae37498234f4444b35ffc5",
                  "origin": {
                    "type": "service"
                  }
                },
                "pricing": {
                  "billable": true,
                  "pricing_model": "CBP",
                  "category": "service"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
"""#,
        "whatsapp_text.json": #"""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "timestamp": "1749416383",
                "type": "text",
                "text": {
                  "body": "Does it come in another color?"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
"""#,
    ]
}
